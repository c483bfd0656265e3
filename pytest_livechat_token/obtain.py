"""Where a token comes from, in order: the environment, the controller, the cache, a login."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .bearer import BearerToken, is_usable, seconds_left, utcnow
from .cache import CacheEntry, TokenCache
from .errors import ConfigError, LiveChatTokenError, LoginFailed, NoTerminal, warn
from .settings import TOKEN_ENV, Settings, shorten

if TYPE_CHECKING:
    from .terminal import Terminal


class RenewalWarning(UserWarning):
    """Renewing the token with its refresh token did not go as planned."""


class NotConfigured(ConfigError):
    """No client id and no token: tests that need a token are skipped."""


NOT_CONFIGURED = (
    "no LiveChat client id configured: pass --livechat-client-id=ID, set LIVECHAT_CLIENT_ID "
    f"or ini livechat_client_id, or set {TOKEN_ENV} to a token"
)


class TokenSource:
    """Everything a token can come from, for one process.

    Its repr shows the settings only: the environment and the hand-off may hold tokens.
    """

    def __init__(
        self,
        settings: Settings,
        environ: Mapping[str, str],
        *,
        interactive: bool,
        who: str | None = None,
        handed: Mapping[str, Any] | None = None,
        open_terminal: Callable[[], Terminal | None] | None = None,
        open_url: Callable[[str], bool] | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.environ = environ
        self.interactive = interactive
        self.who = who
        self.handed = handed
        self.open_terminal = open_terminal  # None: the controlling terminal
        self.open_url = open_url  # None: the person's browser
        self.now = now
        self.cache = TokenCache(settings.token_cache)

    def __repr__(self) -> str:
        return f"TokenSource({self.settings!r}, interactive={self.interactive}, who={self.who!r})"

    def _terminal(self) -> Terminal | None:
        if self.open_terminal is not None:
            return self.open_terminal()
        from .terminal import open_terminal  # noqa: PLC0415 - only a login needs it

        return open_terminal()

    @property
    def _tag(self) -> str:
        """What starts a message of a worker: ``[worker gw1] ``."""
        return f"[{self.who}] " if self.who else ""

    @property
    def client_id(self) -> str:
        if self.settings.client_id is None:
            raise NotConfigured(NOT_CONFIGURED)
        return self.settings.client_id

    def cached(self) -> BearerToken | None:
        """A usable token without asking anybody: environment, controller or cache."""
        if token := self.environ.get(TOKEN_ENV, "").strip():
            return BearerToken(token)
        if self.handed and (handed := self.handed.get("token")):
            expires = self.handed.get("expires_at")
            expires_at = datetime.fromisoformat(expires) if expires else None
            if expires_at is None or self.fresh(expires_at):
                return BearerToken(handed, expires_at=expires_at, scope=self.handed.get("scope"))
        entry = self.cache.get(self.settings.accounts_url, self.client_id)
        return entry.bearer() if entry is not None and self.fresh(entry.expires_at) else None

    def fresh(self, expires_at: datetime) -> bool:
        """Whether a token expiring then has at least ``--livechat-min-ttl`` left now."""
        return is_usable(expires_at, self.settings.min_ttl, self.now())

    def token(self) -> BearerToken:
        """The fixture's answer: a cached token, a silently renewed one, or a guided login."""
        return self.cached() or self._acquire(force=False)

    def renewed(self) -> BearerToken | None:
        """A silent renewal when the cache holds a refresh token; never a prompt, never an error.

        The xdist controller uses it so that workers which share no disk with it get a token.
        """
        entry = self.cache.get(self.settings.accounts_url, self.client_id)
        if entry is None or entry.refresh_token is None:
            return None
        try:
            return self._acquire_locked(None, self.client_id, force=False)
        except LiveChatTokenError:
            return None

    def login(self, *, force: bool) -> BearerToken:
        """Log in at the terminal; ``force`` logs in even when a token is cached."""
        return self._acquire(force=force)

    def _acquire(self, *, force: bool) -> BearerToken:
        """Renew with the cached refresh token, or log in; one process at a time."""
        client_id = self.client_id
        entry = None if force else self.cache.get(self.settings.accounts_url, client_id)
        terminal = self._terminal() if self.interactive else None
        if terminal is None and (entry is None or entry.refresh_token is None):
            raise NoTerminal(self._no_terminal_message())
        try:
            return self._acquire_locked(terminal, client_id, force=force)
        finally:
            if terminal is not None:
                terminal.close()

    def _acquire_locked(
        self, terminal: Terminal | None, client_id: str, *, force: bool
    ) -> BearerToken:
        waited: list[bool] = []

        def on_wait() -> None:
            waited.append(True)
            if terminal is not None:
                terminal.say(
                    f"\n{self._tag}Waiting for the LiveChat login in progress in another process "
                    f"(up to {self.settings.prompt_timeout:.0f} s)…\n"
                )

        accounts_url = self.settings.accounts_url
        with self.cache.login_lock(self.settings.prompt_timeout, on_wait):
            # Inside the lock, read again: another process may have logged in or renewed.
            entry = self.cache.get(accounts_url, client_id)
            if entry and (waited or not force):
                if self.fresh(entry.expires_at):
                    return entry.bearer()
                if entry.refresh_token and (renewed := self._renew(entry, terminal, client_id)):
                    return renewed
            if waited:
                raise LoginFailed(
                    "The LiveChat login in another process ended without a token "
                    "(see its messages). Run again to log in."
                )
            if terminal is None:
                raise NoTerminal(self._no_terminal_message())
            from .browser import open_in_browser  # noqa: PLC0415 - only a login needs these
            from .login import guided_login  # noqa: PLC0415

            result = guided_login(
                self.settings,
                terminal,
                who=self.who,
                open_url=self.open_url or open_in_browser,
                now=self.now,
            )
            token = result.token
            if token.expires_at is not None:
                stored = CacheEntry(
                    token,
                    token.expires_at,
                    self.now(),
                    scope=token.scope,
                    refresh_token=result.refresh_token,
                )
                self.cache.put(accounts_url, client_id, stored)
                terminal.say(f"  Stored in {self.settings.token_cache}.\n")
            return token

    def _renew(
        self, entry: CacheEntry, terminal: Terminal | None, client_id: str
    ) -> BearerToken | None:
        """Trade the cached refresh token for a new pair, stored before anything uses it.

        None when the accounts server refuses it (the refresh token is then dropped, and the
        caller falls back to a login). Runs under the login lock: one renewal for all processes.
        """
        from .accounts import refresh_grant  # noqa: PLC0415 - imports httpx
        from .errors import AccountsUnreachable, GrantRefused  # noqa: PLC0415

        assert entry.refresh_token is not None
        accounts_url = self.settings.accounts_url
        try:
            response = refresh_grant(accounts_url, client_id, entry.refresh_token)
        except GrantRefused as refused:
            self.cache.put(accounts_url, client_id, replace(entry, refresh_token=None))
            self._tell(
                terminal,
                f"The cached LiveChat refresh token no longer works ({refused}): "
                "it was dropped, and a new login is needed.",
            )
            return None
        except AccountsUnreachable as unreachable:
            if seconds_left(entry.expires_at, self.now()) > 0:
                self._tell(
                    terminal,
                    f"Could not renew the LiveChat token ({unreachable}); the cached pair is "
                    "kept, and its access token is used while it lasts.",
                )
                return entry.bearer()
            raise LoginFailed(
                f"Could not renew the expired LiveChat token ({unreachable}). The cached pair "
                "is kept: run again when the accounts server can be reached."
            ) from None
        now = self.now()
        renewed = CacheEntry(
            response.access_token,
            response.expires_at(now),
            now,
            scope=response.scope or entry.scope,
            refresh_token=response.refresh_token,
        )
        self.cache.put(accounts_url, client_id, renewed)
        if terminal is not None:
            terminal.say(f"{self._tag}Renewed the LiveChat token silently.\n")
        return renewed.bearer()

    @staticmethod
    def _tell(terminal: Terminal | None, message: str) -> None:
        if terminal is not None:
            terminal.say(f"  ! {message}\n")
        else:
            warn(RenewalWarning(message))

    def _no_terminal_message(self) -> str:
        settings = self.settings
        whom = self.who or "this run"
        return (
            f"No valid LiveChat token is cached for client {shorten(self.client_id)} at "
            f"{settings.accounts_url}, and {whom} has no terminal to log in from. "
            "Run pytest once in a terminal to log in (the token is cached for later runs), "
            f"log in before the workers start with --livechat-login, or set {TOKEN_ENV}."
        )
