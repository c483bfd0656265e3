"""Where a token comes from, in order: the environment, the controller, the cache, a renewal,
a login. ``TokenSource.token`` makes the whole decision; the front end that runs it supplies
the words for what the person should do (``Wording``) and where notices go (``notify``)."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from . import redact
from .bearer import BearerToken, is_token_shaped, is_usable, seconds_left, utcnow
from .cache import CacheEntry, CustomerEntry, Key, TokenCache
from .errors import (
    AccountsUnreachable,
    CacheWarning,
    ConfigError,
    GrantRefused,
    LiveChatTokenError,
    LoginFailed,
    NoTerminal,
    PasteRejected,
    RenewalWarning,
    printable,
    warn,
)
from .settings import (
    TOKEN_ENV,
    Settings,
    Wording,
    account_name,
    env_token,
    for_account,
    shorten,
    token_env_of,
)

if TYPE_CHECKING:
    from .login import LoginResult
    from .terminal import Terminal

log = logging.getLogger("pytest_livechat_token")
"""What the token source decided and why, at DEBUG; never a token."""


class NotConfigured(ConfigError):
    """No client id and no token: tests that need a token are skipped."""


class HandedToken(TypedDict, total=False):
    """One account's token in a ``HandOff``."""

    token: str
    expires_at: str | None
    scope: str | None
    account_id: str | None
    organization_id: str | None


class HandOff(TypedDict, total=False):
    """What the xdist controller hands each worker, through ``workerinput``: its settings (all
    but the cache path, which is per host), whether a person can be asked, and the token of
    each account it holds a fresh one for."""

    settings: dict[str, Any]
    interactive: bool
    accounts: dict[str, HandedToken]
    customers: dict[str, Any]
    """Customer name -> ``customers.HandedCustomer``."""


def handed_token(token: BearerToken) -> HandedToken:
    return {
        "token": str(token),
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        "scope": token.scope,
        "account_id": token.account_id,
        "organization_id": token.organization_id,
    }


@dataclass(frozen=True)
class Status:
    """Where this process's token would come from now, found without asking anybody."""

    source: Literal["environment", "unconfigured", "controller", "cache", "renewal", "login"]
    expires_at: datetime | None = None
    refresh_token: bool = False
    """Whether a refresh token is cached (the token is renewed silently)."""
    lifetime: float | None = None
    """How long the server made the cached token live, in seconds."""


def from_hand_off(
    handed: object, now: datetime
) -> tuple[str, datetime | None, Callable[[str], str | None]] | None:
    """A token the xdist controller handed over, checked (remembered as a secret): its value,
    its expiry (None: unknown), and a getter of its other fields that are strings. None when
    any of it is damaged, or it has expired."""
    if not isinstance(handed, dict):
        return None
    token = handed.get("token")
    if not isinstance(token, str) or not is_token_shaped(token):
        return None
    expires = handed.get("expires_at")
    try:
        expires_at = datetime.fromisoformat(expires) if isinstance(expires, str) else None
    except ValueError:
        return None
    if expires_at is not None and (expires_at.tzinfo is None or seconds_left(expires_at, now) <= 0):
        return None
    redact.remember(token)

    def text(key: str) -> str | None:
        value = handed.get(key)
        return value if isinstance(value, str) else None

    return token, expires_at, text


class TokenSource:
    """Everything a token of one account can come from, for one process. ``named`` gives the
    source of another account, sharing the cache, the run and the person.

    Its repr shows the settings only: the environment and the hand-off may hold tokens.
    """

    def __init__(
        self,
        settings: Settings,
        environ: Mapping[str, str],
        *,
        interactive: bool,
        who: str | None = None,
        handed: HandOff | None = None,
        open_terminal: Callable[[], Terminal | None] | None = None,
        open_url: Callable[[str], bool] | None = None,
        now: Callable[[], datetime] = utcnow,
        wording: Wording | None = None,
        notify: Callable[[str], None] | None = None,
        account: str | None = None,
    ) -> None:
        self.settings = settings
        self.account = account_name(account) if account is not None else settings.account
        self.environ = environ
        self.interactive = interactive
        self.who = who
        self.handed = handed
        self.open_terminal = open_terminal  # None: the controlling terminal
        self.open_url = open_url  # None: the person's browser
        self.now = now
        self.wording = wording or Wording()
        self.notify = notify  # None: a notice with no terminal to show it on is not shown
        self.cache = TokenCache(settings.token_cache)
        self.started_at = now()
        self._obtained: BearerToken | None = None  # by a login or renewal of this process
        self._failed: LoginFailed | None = None  # a login of this process that ended badly
        self._family: dict[str, TokenSource] = {self.account: self}  # shared by ``named``

    def __repr__(self) -> str:
        return (
            f"TokenSource({self.settings!r}, account={self.account!r}, "
            f"interactive={self.interactive}, who={self.who!r})"
        )

    def named(self, account: str) -> TokenSource:
        """The source of the account ``account`` (``ConfigError`` for a name that breaks the
        rule): same settings, cache, person and run, its own token and login."""
        account_name(account)
        sibling = self._family.get(account)
        if sibling is None:
            sibling = copy.copy(self)
            sibling.account = account
            sibling._obtained = None
            sibling._failed = None
            self._family[account] = sibling
        return sibling

    def accounts(self, entries: Mapping[Key, CacheEntry] | None = None) -> list[str]:
        """The names of the accounts cached for this client (in ``entries``, read from the
        cache when not given), in order."""
        return sorted(self._client_entries(entries))

    def _client_entries(
        self, entries: Mapping[Key, CacheEntry] | None = None
    ) -> dict[str, CacheEntry]:
        """This client's cached entries (of ``entries``, else of the cache), by account name."""
        url, client = self.settings.accounts_url, self.client_id
        found = self.cache.entries() if entries is None else entries
        return {key[2]: entry for key, entry in found.items() if key[:2] == (url, client)}

    @property
    def _is_default(self) -> bool:
        return self.account == self.settings.account

    @property
    def token_env(self) -> str:
        """The variable that can hold this account's token."""
        return TOKEN_ENV if self._is_default else token_env_of(self.account)

    @property
    def _whose(self) -> str:
        return for_account(self.account)

    def _terminal(self) -> Terminal | None:
        if self.open_terminal is not None:
            return self.open_terminal()
        from .terminal import open_terminal  # noqa: PLC0415 - only a login needs it

        return open_terminal()

    @property
    def tag(self) -> str:
        """What starts a message of a worker: ``[worker gw1] ``."""
        return f"[{self.who}] " if self.who else ""

    def notice(self, message: str) -> None:
        """A notice where the front end shows notices (no terminal is open for it)."""
        self._say(None, f"{self.tag}{message}")

    @property
    def client_id(self) -> str:
        if self.settings.client_id is None:
            raise NotConfigured(
                f"no LiveChat client id configured: {self.wording.flag('client_id')}, "
                f"or set {self.token_env} to a token"
            )
        return self.settings.client_id

    def status(self, entries: Mapping[Key, CacheEntry] | None = None) -> Status:
        """What ``token`` would do now: for the report header and ``livechat-token login``.
        ``entries``: the cache's, when the caller has read them already (one read for all
        accounts)."""
        if env_token(self.environ, self.account, default=self._is_default) is not None:
            return Status("environment")
        if self.settings.client_id is None:
            return Status("unconfigured")
        if (handed := self._handed()) is not None:
            return Status("controller", handed.expires_at)
        key = (self.settings.accounts_url, self.settings.client_id, self.account)
        entry = (self.cache.entries() if entries is None else entries).get(key)
        if entry is None:
            return Status("login")
        lifetime = (entry.expires_at - entry.obtained_at).total_seconds()
        renews = entry.refresh_token is not None
        if self.fresh(entry):
            return Status("cache", entry.expires_at, renews, lifetime)
        return Status("renewal" if renews else "login", entry.expires_at, renews, lifetime)

    def env_token(self) -> BearerToken | None:
        """The account's token in the environment (``LIVECHAT_BEARER_TOKEN_<NAME>``, and for
        the default account ``LIVECHAT_BEARER_TOKEN``), checked; ``ConfigError`` when malformed."""
        token = env_token(self.environ, self.account, default=self._is_default)
        if token is None:
            return None
        redact.remember(token)
        return BearerToken(token, account=self.account)

    def cached(self) -> BearerToken | None:
        """A usable token without asking anybody: environment, controller, this process's own
        login or renewal, or the cache."""
        if (token := self.env_token()) is not None:
            log.debug("%stoken%s from the environment", self.tag, self._whose)
            return token
        if (handed := self._handed()) is not None:
            log.debug("%stoken handed over by the xdist controller", self.tag)
            return handed
        if self._obtained is not None and self._still_valid(self._obtained.expires_at):
            log.debug("%stoken obtained earlier in this process", self.tag)
            return self._obtained
        entry = self.cache.get(self.settings.accounts_url, self.client_id, self.account)
        if entry is not None and self.fresh(entry):
            log.debug("%stoken from the cache %s", self.tag, self.cache.path)
            return self._use(entry)
        log.debug(
            "%sno usable token cached (%s)",
            self.tag,
            "none" if entry is None else "a refresh token" if entry.refresh_token else "stale",
        )
        return None

    def _handed(self) -> BearerToken | None:
        """The controller's token; it counts as fresh while it is valid (the controller has
        just checked or renewed it for this run)."""
        accounts = self.handed.get("accounts") if self.handed else None
        handed = accounts.get(self.account) if isinstance(accounts, dict) else None
        if (found := from_hand_off(handed, self.now())) is None:
            return None
        token, expires_at, text = found
        return BearerToken(
            token,
            expires_at=expires_at,
            scope=text("scope"),
            account=self.account,
            account_id=text("account_id"),
            organization_id=text("organization_id"),
        )

    def fresh(self, entry: CacheEntry | CustomerEntry) -> bool:
        """Whether a cached token is good for this run: at least ``min_ttl`` left, or obtained
        since this run started (a server may issue tokens that live less than ``min_ttl``:
        one run never renews twice) and not yet expired."""
        now = self.now()
        if is_usable(entry.expires_at, self.settings.min_ttl, now):
            return True
        return entry.obtained_at >= self.started_at and seconds_left(entry.expires_at, now) > 0

    def _still_valid(self, expires_at: datetime | None) -> bool:
        return expires_at is None or seconds_left(expires_at, self.now()) > 0

    def _use(self, entry: CacheEntry) -> BearerToken:
        redact.remember(entry.access_token, entry.refresh_token)
        return entry.bearer(self.account)

    def token(self) -> BearerToken:
        """The fixture's answer: a cached token, a silently renewed one, or a guided login."""
        return self.cached() or self._acquire(force=False)

    def renewed(self) -> BearerToken | None:
        """A silent renewal when the cache holds a refresh token; never a prompt, never an error.

        The xdist controller uses it so that workers which share no disk with it get a token.
        """
        try:
            entry = self.cache.get(self.settings.accounts_url, self.client_id, self.account)
            if entry is None or entry.refresh_token is None:
                return None
            return self._acquire_locked(None, self.client_id, force=False)
        except LiveChatTokenError:
            return None

    def login(self, *, force: bool) -> BearerToken:
        """Log in at the terminal; ``force`` logs in even when a token is cached."""
        return self._acquire(force=force)

    def _acquire(self, *, force: bool) -> BearerToken:
        """Renew with the cached refresh token, or log in; one process at a time.

        A login that failed or was cancelled is not asked again in this process: the same
        error is raised at once (a rerun plugin would otherwise prompt for every rerun).
        """
        if self._failed is not None:
            raise self._failed
        client_id = self.client_id
        url = self.settings.accounts_url
        entry = None if force else self.cache.get(url, client_id, self.account)
        terminal = self._terminal() if self.interactive else None
        if terminal is None and (entry is None or entry.refresh_token is None):
            raise NoTerminal(self._no_terminal_message())
        try:
            return self._acquire_locked(terminal, client_id, force=force)
        except LoginFailed as failed:
            self._failed = failed
            raise
        finally:
            if terminal is not None:
                terminal.close()

    def _acquire_locked(
        self, terminal: Terminal | None, client_id: str, *, force: bool
    ) -> BearerToken:
        timeout = self.settings.prompt_timeout

        def on_wait() -> None:
            self._say(
                terminal,
                f"{self.tag}Waiting for the LiveChat login{self._whose} in progress in another "
                f"process (up to {timeout:.0f} s)…",
            )

        accounts_url = self.settings.accounts_url
        lock = self.cache.login_lock_of(self.account)
        log.debug("%staking the login lock %s", self.tag, lock)
        with self.cache.login_lock(timeout, on_wait, self.account) as waited:
            # Inside the lock, read again: another process may have logged in or renewed.
            entry = self.cache.get(accounts_url, client_id, self.account)
            if waited:
                log.debug("%swaited for another process's login or renewal", self.tag)
            if entry and (waited or not force):
                if self.fresh(entry):
                    log.debug("%sthe cache holds a fresh token now: no login", self.tag)
                    return self._use(entry)
                if entry.refresh_token and (renewed := self._renew(entry, terminal, client_id)):
                    return renewed
            if waited:
                raise LoginFailed(
                    f"The LiveChat login{self._whose} in another process ended without a token "
                    "(see its messages). Run again to log in."
                )
            if terminal is None:
                raise NoTerminal(self._no_terminal_message())

            def on_other_login() -> None:
                self._say(
                    terminal,
                    f"{self.tag}Waiting for the LiveChat login of another account in another "
                    f"process to finish (up to {timeout:.0f} s)…",
                )

            # One person, one terminal: the logins of several accounts come one after another.
            with self.cache.terminal_lock(timeout, on_other_login):
                grant = self.settings.grant
                log.debug("%sguided login%s (%s grant)", self.tag, self._whose, grant)
                return self._log_in(terminal, client_id)

    def _log_in(self, terminal: Terminal, client_id: str) -> BearerToken:
        from .browser import open_in_browser  # noqa: PLC0415 - only a login needs these
        from .login import guided_login  # noqa: PLC0415

        def keep(result: LoginResult) -> None:
            """Stored as soon as it is known, before the login's teardown."""
            token = result.token
            redact.remember(token, result.refresh_token)
            self._obtained = token
            if token.expires_at is None:
                return
            stored = CacheEntry(
                token,
                token.expires_at,
                self.now(),
                scope=token.scope,
                refresh_token=result.refresh_token,
                account_id=token.account_id,
                organization_id=token.organization_id,
            )
            if self._store(client_id, stored, rotated=False):
                terminal.say(f"  Stored in {printable(str(self.settings.token_cache))}.\n")

        result = guided_login(
            self.settings,
            terminal,
            who=self.who,
            open_url=self.open_url or open_in_browser,
            now=self.now,
            keep=keep,
            wording=self.wording,
            account=self.account,
            others=[name for name in self._users() if name != self.account],
            vet=self._vet,
        )
        return result.token

    def _users(self) -> dict[str, str | None]:
        """The account id of each account of this client that is cached or was obtained in
        this process (None where unknown), by name."""
        users = {name: entry.account_id for name, entry in self._client_entries().items()}
        for name, sibling in self._family.items():
            if sibling._obtained is not None and sibling._obtained.account_id is not None:
                users[name] = sibling._obtained.account_id
        return dict(sorted(users.items()))

    def _vet(self, token: BearerToken) -> None:
        """Refuse a token of a user that another account name already stands for: two names
        for one user would make a test of two users pass for the wrong reason."""
        if token.account_id is None:
            return  # not confirmed by the accounts server: nothing to compare
        for name, account_id in self._users().items():
            if name != self.account and account_id == token.account_id:
                raise PasteRejected(
                    f"That is the LiveChat user cached as {name!r} (account "
                    f"{printable(account_id, 40)}), not another one for {self.account!r}. Log "
                    "in as a different user: a private window, or log out of LiveChat first."
                )

    def _renew(
        self, entry: CacheEntry, terminal: Terminal | None, client_id: str
    ) -> BearerToken | None:
        """Renew with the cached refresh token and store the new pair before anything uses it.

        None when the accounts server refuses the refresh token (it is then dropped, and the
        caller falls back to a login). Runs under the login lock: one renewal for all processes.
        """
        from .renewal import renew  # noqa: PLC0415 - imports the accounts client

        redact.remember(entry.access_token, entry.refresh_token)
        log.debug("%srenewing the token with its refresh token", self.tag)
        try:
            renewed = renew(
                self.settings.accounts_url,
                client_id,
                entry,
                now=self.now,
                on_retry=lambda seconds: self._say(
                    terminal,
                    f"{self.tag}The LiveChat accounts server asks to wait {seconds:.0f} s "
                    "before renewing the token; waiting.",
                ),
            )
        except GrantRefused as refused:
            self._store(client_id, replace(entry, refresh_token=None), rotated=False)
            self._tell(
                terminal,
                f"The cached LiveChat refresh token no longer works ({refused}): "
                "it was dropped, and a new login is needed.",
            )
            return None
        except AccountsUnreachable as unreachable:
            later = (
                f" (it asks to wait {unreachable.retry_after:.0f} s)"
                if unreachable.retry_after
                else ""
            )
            if seconds_left(entry.expires_at, self.now()) > 0:
                self._tell(
                    terminal,
                    f"Could not renew the LiveChat token ({unreachable}){later}; the cached "
                    "pair is kept, and its access token is used while it lasts.",
                )
                return entry.bearer(self.account)
            raise LoginFailed(
                f"Could not renew the expired LiveChat token ({unreachable}){later}. The cached "
                "pair is kept: run again when the accounts server can be reached."
            ) from None
        redact.remember(renewed.access_token, renewed.refresh_token)
        self._obtained = renewed.bearer(self.account)
        if self._store(client_id, renewed, rotated=True):
            self._say(terminal, f"{self.tag}Renewed the LiveChat token silently.")
        return self._obtained

    def _store(self, client_id: str, entry: CacheEntry, *, rotated: bool) -> bool:
        """Put ``entry`` in the cache; when that fails, say so once and go on with the token
        in memory (nothing obtained is lost because the disk said no)."""
        try:
            self.cache.put(self.settings.accounts_url, client_id, entry, self.account)
        except (OSError, LiveChatTokenError) as error:
            reason = error.strerror if isinstance(error, OSError) else str(error)
            log.debug("%scould not store the token: %s", self.tag, reason)
            lost = (
                " The refresh token was rotated and could not be kept: the next run will need "
                "a login."
                if rotated and entry.refresh_token
                else " It is used for this run only."
            )
            warn(
                CacheWarning(
                    f"could not store the LiveChat token in "
                    f"{printable(str(self.settings.token_cache))} ({reason}).{lost}"
                )
            )
            return False
        return True

    def _say(self, terminal: Terminal | None, message: str) -> None:
        """A notice: on the terminal, else where the front end shows notices."""
        if terminal is not None:
            terminal.say(f"\n{message}\n")
        elif self.notify is not None:
            self.notify(message)

    def _tell(self, terminal: Terminal | None, message: str) -> None:
        """Something the person should know: on the terminal, else a warning."""
        if terminal is not None:
            terminal.say(f"  ! {message}\n")
        else:
            warn(RenewalWarning(message))

    def _no_terminal_message(self) -> str:
        settings = self.settings
        whom = self.who or "this run"
        return (
            f"No valid LiveChat token is cached{self._whose} for client "
            f"{shorten(self.client_id)} at {settings.accounts_url}, and {whom} has no terminal "
            f"to log in from. {self.wording.log_in_first[:1].upper()}"
            f"{self.wording.log_in_first[1:]}, or set {self.token_env}."
        )
