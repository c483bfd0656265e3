"""How one account's token is obtained when ``lookup.find`` has none to use: the lock-and-renew
protocol and the guided login. ``TokenSource.token`` makes the whole decision; the run
(``run.Run``) supplies everything shared, and the front end the words for what the person
should do (``Wording``) and where notices go."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING

from .._base import redact
from .._base.bearer import BearerToken, seconds_left
from .._base.environment import token_env_of
from .._base.errors import (
    AccountsUnreachable,
    CacheWarning,
    ConfigError,
    GrantRefused,
    LiveChatTokenError,
    LoginFailed,
    NoCache,
    NotConfigured,
    NoTerminal,
    TokenRejected,
    printable,
    reason,
    warn,
)
from .._base.settings import REFRESH_ENV, account_name, for_account, shorten
from .._store.cache import CacheEntry, Key
from .lookup import find
from .users import vet

if TYPE_CHECKING:
    from .._auth.login import LoginResult
    from .._auth.terminal import Terminal
    from .run import Run

log = logging.getLogger("pytest_livechat_token")
"""What the token source decided and why, at DEBUG; never a token."""

_SAID = {
    "environment": "token{whose} from the environment",
    "controller": "token handed over by the xdist controller",
    "process": "token obtained earlier in this process",
    "cache": "token from the cache {path}",
}


def source_of(run: Run, name: str | None = None) -> TokenSource:
    """The source of the account ``name`` in ``run`` (the default account when None); a
    ``ConfigError`` for a name that breaks the rule, or that reads the same environment
    variable as another name this run used."""
    name = run.settings.account if name is None else name
    if name not in run.accounts_used:
        variable = token_env_of(account_name(name))
        for other in run.accounts_used:
            if token_env_of(other) == variable:
                raise ConfigError(
                    f"the account names {other!r} and {name!r} would both read {variable}: "
                    "two names, one token. Use one of the two names."
                )
        run.accounts_used.add(name)
    return TokenSource(run, name)


class TokenSource:
    """Everything a token of the account ``account`` can come from, in the run ``run``."""

    __slots__ = ("account", "run")

    def __init__(self, run: Run, account: str) -> None:
        self.run = run
        self.account = account

    def __repr__(self) -> str:
        return f"TokenSource({self.run!r}, account={self.account!r})"

    @property
    def token_env(self) -> str:
        """The variable that can hold this account's token."""
        return self.run.token_env(self.account)

    @property
    def _whose(self) -> str:
        return for_account(self.account)

    def cached(self, entries: Mapping[Key, CacheEntry] | None = None) -> BearerToken | None:
        """A usable token without asking anybody (``lookup.find``), remembered as a secret;
        ``NotConfigured`` without a client id and without a token in the environment."""
        found = find(self.run, self.account, entries)
        tag = self.run.notices.tag
        if found.where == "unconfigured":
            raise NotConfigured(
                f"no LiveChat client id configured: {self.run.wording.flag('client_id')}, "
                f"or set {self.token_env} to a token"
            )
        if found.token is not None:
            said = _SAID[found.where].format(whose=self._whose, path=self.run.cache.path)
            log.debug("%s%s", tag, said)
            redact.remember(found.token, found.entry.refresh_token if found.entry else None)
            return found.token
        entry = found.entry
        log.debug(
            "%sno usable token cached (%s)",
            tag,
            "none" if entry is None else "a refresh token" if entry.refresh_token else "stale",
        )
        return None

    def token(self) -> BearerToken:
        """The fixture's answer: a cached token, a silently renewed one, or a guided login."""
        return self.cached() or self._acquire(force=False)

    def renewed(self) -> BearerToken | None:
        """A silent renewal when the cache holds a refresh token; never a prompt, never an error.

        The xdist controller uses it so that workers which share no disk with it get a token.
        """
        try:
            entry = _with_env_refresh(
                self.run,
                self.account,
                self.run.cache.get(
                    self.run.settings.accounts_url, self.run.client_id, self.account
                ),
            )
            if entry is None or entry.refresh_token is None:
                return None
            return self._acquire_locked(None, force=False)
        except LiveChatTokenError:
            return None

    def login(self, *, force: bool) -> BearerToken:
        """Log in at the terminal; ``force`` logs in even when a token is cached."""
        return self._acquire(force=force)

    def _acquire(self, *, force: bool) -> BearerToken:
        """Renew with the cached refresh token, or log in; one process at a time.

        A login that failed or was cancelled is not asked again in this run: the same error is
        raised at once (a rerun plugin would otherwise prompt for every rerun).
        """
        run = self.run
        if (earlier := run.failed.get(self.account)) is not None:
            raise earlier
        client_id = run.client_id
        entry = None
        if not force:
            entry = _with_env_refresh(
                run, self.account, run.cache.get(run.settings.accounts_url, client_id, self.account)
            )
        terminal = run.terminal() if run.interactive else None
        if terminal is None and (entry is None or entry.refresh_token is None):
            raise NoTerminal(self._no_terminal_message())
        try:
            return self._acquire_locked(terminal, force=force)
        except LoginFailed as failed:
            run.failed[self.account] = failed
            raise
        finally:
            if terminal is not None:
                terminal.close()

    def _acquire_locked(self, terminal: Terminal | None, *, force: bool) -> BearerToken:
        run = self.run
        notices, tag = run.notices, run.notices.tag
        timeout = run.settings.prompt_timeout

        def on_wait() -> None:
            notices.say(
                f"Waiting for the LiveChat login{self._whose} in progress in another process "
                f"(up to {timeout:.0f} s)…",
                terminal,
            )

        log.debug("%staking the login lock %s", tag, run.locks.login_path(self.account))
        with run.locks.login(timeout, on_wait, self.account) as waited:
            # Inside the lock, read again: another process may have logged in or renewed.
            entry = run.cache.get(run.settings.accounts_url, run.client_id, self.account)
            if not force or waited:
                entry = _with_env_refresh(run, self.account, entry)
            if waited:
                log.debug("%swaited for another process's login or renewal", tag)
            if entry and (waited or not force):
                if run.fresh(entry):
                    log.debug("%sthe cache holds a fresh token now: no login", tag)
                    return self._use(entry)
                if entry.refresh_token and (renewed := self._renew(entry, terminal)):
                    return renewed
            if waited and run.cache.keeps():
                raise LoginFailed(
                    f"The LiveChat login{self._whose} in another process ended without a token "
                    "(see its messages). Run again to log in."
                )
            # (With no cache that keeps it, what the other process obtained cannot be read
            # here: this process logs in for itself.)
            if terminal is None:
                raise NoTerminal(self._no_terminal_message())

            def on_other_login() -> None:
                notices.say(
                    "Waiting for the LiveChat login of another account in another process to "
                    f"finish (up to {timeout:.0f} s)…",
                    terminal,
                )

            # One person, one terminal: the logins of several accounts come one after another.
            with run.locks.terminal(timeout, on_other_login):
                log.debug("%sguided login%s (%s grant)", tag, self._whose, run.settings.grant)
                # Logging in again over a cached token is for scopes added to the app since
                # (or another user): the consent screen shows what the app now asks for.
                replacing = entry if force else None
                return self._log_in(terminal, consent=replacing is not None, replacing=replacing)

    def _use(self, entry: CacheEntry) -> BearerToken:
        redact.remember(entry.access_token, entry.refresh_token)
        return entry.bearer(self.account)

    def _log_in(
        self, terminal: Terminal, *, consent: bool, replacing: CacheEntry | None = None
    ) -> BearerToken:
        from .._auth.browser import open_in_browser  # only a login needs these
        from .._auth.login import guided_login

        run = self.run

        def keep(result: LoginResult) -> None:
            """Stored as soon as it is known, before the login's teardown."""
            token = result.token
            redact.remember(token, result.refresh_token)
            run.obtained[self.account] = token
            if token.expires_at is None:
                return
            stored = CacheEntry(
                token,
                token.expires_at,
                run.now(),
                scope=token.scope,
                refresh_token=result.refresh_token,
                account_id=token.account_id,
                organization_id=token.organization_id,
            )
            if (unstored := self._store(stored, rotated=False)) is None:
                terminal.say(f"  Stored in {printable(str(run.settings.token_cache))}.\n")
                if replacing is not None:
                    _revoke_replaced(run, self.account, replacing, stored, terminal)
            else:
                terminal.say(f"  Not stored ({unstored}): kept for this run only.\n")

        result = guided_login(
            run.settings,
            terminal,
            who=run.who,
            open_url=open_in_browser,
            now=run.now,
            keep=keep,
            wording=run.wording,
            account=self.account,
            others=[name for name in run.users() if name != self.account],
            vet=partial(vet, run, self.account),
            client_secret=run.client_secret,
            consent=consent,
        )
        return result.token

    def _renew(self, entry: CacheEntry, terminal: Terminal | None) -> BearerToken | None:
        """Renew with the cached refresh token and store the new pair before anything uses it.

        None when the accounts server refuses the refresh token (it is then dropped, and the
        caller falls back to a login). Runs under the login lock: one renewal for all processes.
        """
        from .renewal import DEADLINE, renew  # imports the accounts client
        from .shield import shielded

        run = self.run
        notices = run.notices
        redact.remember(entry.access_token, entry.refresh_token)
        log.debug("%srenewing the token with its refresh token", notices.tag)

        def renew_and_store() -> tuple[CacheEntry, bool]:
            """Once the server has rotated the pair, the new one is stored, whatever
            interrupts the caller meanwhile (``shield``)."""
            renewed = renew(
                run.settings.accounts_url,
                run.client_id,
                entry,
                now=run.now,
                on_retry=lambda seconds: notices.say(
                    f"The LiveChat accounts server asks to wait {seconds:.0f} s before renewing "
                    "the token; waiting.",
                    terminal,
                ),
                client_secret=run.client_secret,
            )
            redact.remember(renewed.access_token, renewed.refresh_token)
            return renewed, self._store(renewed, rotated=True) is None

        try:
            renewed, stored = shielded(renew_and_store, DEADLINE)
        except GrantRefused as refused:
            self._store(entry._replace(refresh_token=None), rotated=False)
            notices.tell(
                f"The cached LiveChat refresh token no longer works ({refused}): "
                "it was dropped, and a new login is needed.",
                terminal,
            )
            return None
        except AccountsUnreachable as unreachable:
            later = (
                f" (it asks to wait {unreachable.retry_after:.0f} s)"
                if unreachable.retry_after
                else ""
            )
            if seconds_left(entry.expires_at, run.now()) > 0:
                notices.tell(
                    f"Could not renew the LiveChat token ({unreachable}){later}; the cached "
                    "pair is kept, and its access token is used while it lasts.",
                    terminal,
                )
                return entry.bearer(self.account)
            raise LoginFailed(
                f"Could not renew the expired LiveChat token ({unreachable}){later}. The cached "
                "pair is kept: run again when the accounts server can be reached."
            ) from None
        token = run.obtained[self.account] = renewed.bearer(self.account)
        if stored:
            notices.say("Renewed the LiveChat token silently.", terminal)
        if entry.refresh_token == run.env_refresh_token(self.account):
            _said_if_rotated(run, self.account, entry, renewed, stored=stored, terminal=terminal)
        return token

    def _store(self, entry: CacheEntry, *, rotated: bool) -> str | None:
        """Put ``entry`` in the cache: None when stored, else why not (said once as a warning,
        but for no cache, which the header says); the token stays in memory all the same."""
        run = self.run
        try:
            run.cache.put(run.settings.accounts_url, run.client_id, entry, self.account)
        except NoCache as none:
            return str(none)
        except (OSError, LiveChatTokenError) as error:
            log.debug("%scould not store the token: %s", run.notices.tag, reason(error))
            lost = (
                " The refresh token was rotated and could not be kept: the next run will need "
                "a login."
                if rotated and entry.refresh_token
                else " It is used for this run only."
            )
            warn(
                CacheWarning(
                    f"could not store the LiveChat token in "
                    f"{printable(str(run.settings.token_cache))} ({reason(error)}).{lost}"
                )
            )
            return reason(error)
        return None

    def _no_terminal_message(self) -> str:
        run = self.run
        whom = run.who or "this run"
        first = run.wording.log_in_first
        return (
            f"No valid LiveChat token is cached{self._whose} for client "
            f"{shorten(run.client_id)} at {run.settings.accounts_url}, and {whom} has no "
            f"terminal to log in from. {first[:1].upper()}{first[1:]}, or set {self.token_env}."
        )


def _revoke_replaced(
    run: Run, account: str, old: CacheEntry, new: CacheEntry, terminal: Terminal
) -> None:
    """A login over a cached pair (``--livechat-login``, ``login --force``) revokes the pair
    it replaced, once the new one is stored: no cache holds it any more, so nothing else
    (``logout``) could reach it. A pair whose refresh token is the environment's is not the
    cache's to revoke (its access token neither: revoking it takes the refresh token
    along); a token LiveChat no longer knows is gone already."""
    from .._auth.oauth import revoke  # only a login over a cached pair

    if old.refresh_token and old.refresh_token == run.env_refresh_token(account):
        return
    kept = {new.access_token, new.refresh_token}
    replaced = [token for token in (old.access_token, old.refresh_token) if token]
    if not (replaced := [token for token in replaced if token not in kept]):
        return
    for token in replaced:
        try:
            revoke(run.settings.accounts_url, token)
        except TokenRejected:
            continue
        except AccountsUnreachable as unreachable:
            terminal.say(
                f"  ! The replaced token could not be revoked at LiveChat ({unreachable}): "
                "it ends by itself when it expires.\n"
            )
            return
    terminal.say("  The token it replaces was revoked at LiveChat.\n")


def _with_env_refresh(run: Run, account: str, entry: CacheEntry | None) -> CacheEntry | None:
    """``entry`` as the cache has it, or, when it holds no refresh token, with the refresh
    token of ``LIVECHAT_REFRESH_TOKEN(_<NAME>)`` (a server-side app's, for CI); a renewal
    then starts from it. Without the variable, ``entry`` unchanged."""
    if entry is not None and entry.refresh_token is not None:
        return entry
    refresh = run.env_refresh_token(account)
    if refresh is None:
        return entry
    redact.remember(refresh)
    if entry is not None:
        return entry._replace(refresh_token=refresh)
    spent = run.now()  # no access token to use: a renewal is needed at once
    return CacheEntry(refresh, spent, spent, refresh_token=refresh)


def _said_if_rotated(
    run: Run,
    account: str,
    entry: CacheEntry,
    renewed: CacheEntry,
    *,
    stored: bool,
    terminal: Terminal | None,
) -> None:
    """A renewal from ``LIVECHAT_REFRESH_TOKEN(_<NAME>)`` that rotated it (a web app's) is
    said plainly: the variable is spent, and where the new refresh token is."""
    if renewed.refresh_token == entry.refresh_token:
        return
    where = printable(str(run.settings.token_cache)) if stored else "no cache (see above)"
    run.notices.tell(
        f"{run.token_env(account, REFRESH_ENV)} held a rotating refresh token (a web app's): "
        "the accounts server has replaced it, so the variable no longer works after this run. "
        f"The new one is in {where}: {run.wording.flag('refresh_token')} prints it for your "
        "secret store, or use a server-side app, whose refresh tokens do not rotate.",
        terminal,
    )
