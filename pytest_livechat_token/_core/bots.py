"""Bot identities (Configuration API > Bots; Agent Chat API > "Calling the API as a bot"): a
bot the tests call by a name, made once with the default account's token (or the PAT of
``LIVECHAT_PAT``), its id and secret cached so that every later run is the same bot, and a
token issued for it (valid 24 hours, not revocable) when none with min-ttl is cached, by one
process at a time. The secret never leaves this process and the cache: workers are handed
tokens only."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

from .._auth.webapi import Caller
from .._base import redact
from .._base.bearer import BearerToken, BotToken, still_valid
from .._base.errors import (
    AccountsUnreachable,
    CacheWarning,
    ConfigError,
    LiveChatTokenError,
    MissingScope,
    NoCache,
    NotConfigured,
    TokenRejected,
    printable,
    reason,
    warn,
)
from .._base.settings import ORGANIZATION_ENV, account_name
from .._store.cache import BotEntry, Key
from .obtain import source_of

if TYPE_CHECKING:
    from .run import Run

log = logging.getLogger("pytest_livechat_token")
SCOPE = "agents-bot--my:rw"
NAME_PREFIX = "pytest-livechat-token "
"""How a bot made by the tests is named at LiveChat, before the tests' name for it: a person
who sees it in the agent list knows where it comes from."""


class BotFailed(LiveChatTokenError):
    """No bot token could be had: what LiveChat refused, in one line, and what to do."""


class Maker(NamedTuple):
    """Who makes the bot and asks for its tokens, the organization, and the account name the
    bot is recorded under (``pat`` for ``LIVECHAT_PAT``)."""

    caller: Caller
    organization_id: str
    account: str


class BotSource:
    """The bots of one run. No state of its own: what was had or refused is kept in the run."""

    __slots__ = ("run",)

    def __init__(self, run: Run) -> None:
        self.run = run

    def cached(self, name: str, bots: Mapping[Key, BotEntry] | None = None) -> BotToken | None:
        """A usable bot token without asking LiveChat: this process's, the controller's, or
        the cache's (of ``bots`` when the caller has read them already)."""
        run = self.run
        if run.settings.client_id is None:
            raise NotConfigured(
                f"bot tokens need the LiveChat app's client id: {run.wording.flag('client_id')}"
            )
        known = run.bots_obtained.get(name)
        if known is not None and still_valid(known.expires_at, run.now()):
            return known
        if run.handed is not None:
            from .handed import bot_of  # only workers are handed anything

            if (handed := bot_of(run.handed, name, run.now())) is not None:
                return handed
        key = (run.settings.api_url, run.client_id, name)
        entry = (run.cache.bots() if bots is None else bots).get(key)
        if entry is not None and self.run.fresh(entry):
            return self._use(name, entry)
        return None

    def token(self, name: str) -> BotToken:
        """The bot ``name``'s token: cached, or issued (for a bot made the first time).
        Raises ``MissingScope`` when the credential may not make bots, ``BotFailed`` for any
        other refusal, ``ConfigError`` for a name that breaks the rule."""
        if (found := self.cached(account_name(name, "a bot name"))) is not None:
            return found
        if (failed := self.run.bots_failed.get(name)) is not None:
            raise failed
        try:
            return self._obtain(name)
        except (MissingScope, BotFailed, ConfigError) as error:
            self.run.bots_failed[name] = error
            raise

    def _obtain(self, name: str) -> BotToken:
        run = self.run
        maker = self.maker()

        def on_wait() -> None:
            run.notices.say(f"Waiting for another process to make the LiveChat bot {name!r}…")

        with run.locks.bot(name, run.settings.prompt_timeout, on_wait):
            entry = run.cache.get_bot(run.settings.api_url, run.client_id, name)
            if entry is not None and self.run.fresh(entry):
                return self._use(name, entry)
            return self._use(name, self._issue(name, maker, entry))

    def maker(self) -> Maker:
        """The PAT of ``LIVECHAT_PAT`` when set (with ``LIVECHAT_ORGANIZATION_ID``), else the
        default account's token (its own login, if one is needed), which must be allowed to
        make bots when its scopes are known."""
        run = self.run
        from .._base.pat import from_environ

        pat = from_environ(run.environ)
        if pat is not None:
            organization = run.environ.get(ORGANIZATION_ENV, "").strip()
            if not organization or not organization.isprintable() or len(organization) > 128:
                raise BotFailed(
                    f"a bot made with LIVECHAT_PAT needs the organization's id in "
                    f"{ORGANIZATION_ENV} (Issue Bot Token asks for it; a PAT does not say it)"
                )
            return Maker(Caller(pat.authorization, pat.region), organization, "pat")
        agent_token = source_of(run).token()
        if agent_token.scope is not None:
            from .._base.scopes import missing_scopes

            if missing_scopes([SCOPE], agent_token.scope):
                raise MissingScope(self._missing_scope(agent_token.account))
        organization_id = agent_token.organization_id or self._organization_of(agent_token)
        caller = Caller(agent_token.authorization, agent_token.region)
        return Maker(caller, organization_id, agent_token.account)

    def _organization_of(self, agent_token: BearerToken) -> str:
        """The organization of a token that does not say it (one from the environment), as
        ``GET /v2/info`` says it."""
        from .._auth.oauth import token_info

        try:
            info = token_info(self.run.settings.accounts_url, agent_token)
        except (AccountsUnreachable, TokenRejected) as error:
            raise BotFailed(
                f"Could not learn the organization of {agent_token.account!r}'s token, which "
                f"Issue Bot Token needs: {error}"
            ) from None
        if info.organization_id is None:
            raise BotFailed(
                f"GET /v2/info did not say the organization of {agent_token.account!r}'s "
                "token, which Issue Bot Token needs"
            )
        return info.organization_id

    def _issue(self, name: str, maker: Maker, entry: BotEntry | None) -> BotEntry:
        """A token for the cached bot (made first when there is none; made again, once, when
        LiveChat no longer has it), stored with the bot."""
        from .._auth.webapi import WebApiRefused

        run = self.run
        if entry is not None and entry.organization_id != maker.organization_id:
            raise BotFailed(
                f"the cached LiveChat bot {name!r} ({entry.bot_id}) is of organization "
                f"{printable(entry.organization_id, 64)}, and {maker.account!r} of "
                f"{printable(maker.organization_id, 64)}: drop it with "
                f"{self._drop(name)}, or use another token cache"
            )
        if entry is None:
            entry = self._create(name, maker)
        try:
            return self._issue_for(name, maker, entry)
        except WebApiRefused as refused:
            if refused.type != "not_found":
                raise self._refused(name, entry, refused) from None
        warn(
            CacheWarning(
                f"the LiveChat bot {name!r} ({entry.bot_id}) was deleted outside the tests; "
                "a new one is made in its place."
            )
        )
        run.cache.remove_bot(run.settings.api_url, run.client_id, name)
        entry = self._create(name, maker)
        try:
            return self._issue_for(name, maker, entry)
        except WebApiRefused as refused:
            raise self._refused(name, entry, refused) from None

    def _create(self, name: str, maker: Maker) -> BotEntry:
        """Create Bot, its id and secret stored before anything else happens (``shield``):
        a bot made is never lost."""
        from .._auth.oauth import TIMEOUT
        from .._auth.webapi import WebApiRefused, create_bot
        from .shield import shielded

        run = self.run
        api_url, client_id = run.settings.api_url, run.client_id
        log.debug("%smaking the LiveChat bot %r", run.notices.tag, name)

        def create_and_store() -> BotEntry:
            made = create_bot(api_url, maker.caller, NAME_PREFIX + name, client_id)
            entry = BotEntry(
                made.bot_id, made.secret, maker.organization_id, run.now(), maker.account
            )
            self._store(name, entry, "the bot")
            return entry

        try:
            return shielded(create_and_store, TIMEOUT + 5)
        except WebApiRefused as refused:
            if refused.type in ("authorization", "missing_scope") or refused.status == 403:
                raise MissingScope(self._missing_scope(maker.account)) from None
            raise BotFailed(f"Could not make the LiveChat bot {name!r}: {refused}.") from None
        except AccountsUnreachable as unreachable:
            raise BotFailed(f"Could not make the LiveChat bot {name!r}: {unreachable}.") from None

    def _issue_for(self, name: str, maker: Maker, entry: BotEntry) -> BotEntry:
        from .._auth.oauth import TIMEOUT
        from .._auth.webapi import BOT_LIFETIME, MadeBot, issue_bot_token
        from .._base.bearer import expires_at_from
        from .shield import shielded

        run = self.run
        requested_at = run.now()

        def issue_and_store() -> BotEntry:
            token = issue_bot_token(
                run.settings.api_url,
                maker.caller,
                MadeBot(entry.bot_id, entry.secret),
                run.client_id,
                entry.organization_id,
            )
            issued = entry._replace(
                access_token=token,
                expires_at=expires_at_from(BOT_LIFETIME, requested_at),
                obtained_at=requested_at,
            )
            self._store(name, issued, "its token")
            return issued

        try:
            return shielded(issue_and_store, TIMEOUT + 5)
        except AccountsUnreachable as unreachable:
            raise BotFailed(
                f"Could not get a token for the LiveChat bot {name!r}: {unreachable}."
            ) from None

    def _refused(self, name: str, entry: BotEntry, refused: Exception) -> BotFailed:
        return BotFailed(
            f"LiveChat would not issue a token for the cached bot {name!r} ({entry.bot_id}: "
            f"{refused}); if its secret was reset or it belongs elsewhere, drop it with "
            f"{self._drop(name)}: the next run makes a new bot"
        )

    def _store(self, name: str, entry: BotEntry, what: str) -> None:
        run = self.run
        try:
            run.cache.put_bot(run.settings.api_url, run.client_id, name, entry)
        except NoCache:
            pass  # kept for the run, as the header said
        except (OSError, LiveChatTokenError) as error:
            warn(
                CacheWarning(
                    f"could not store the LiveChat bot {name!r} ({what}) in "
                    f"{printable(str(run.settings.token_cache))} ({reason(error)}); it is used "
                    "for this run only."
                )
            )

    def _use(self, name: str, entry: BotEntry) -> BotToken:
        token = entry.token(name)
        if token is None:  # pragma: no cover - callers pass an entry with a token
            raise BotFailed(f"the LiveChat bot {name!r} has no token")
        redact.remember(token, entry.secret)
        self.run.bots_obtained[name] = token
        return token

    def _drop(self, name: str) -> str:
        return self.run.wording.flag("drop_bot").replace("{name}", name)

    def _missing_scope(self, account: str) -> str:
        return (
            f"the LiveChat credential of {account!r} may not make bots: it needs the {SCOPE} "
            "scope (add it to the app's scopes: Developer Console > your app > Authorization), "
            f"then log in again ({self.run.wording.flag('login')})"
        )
