"""Where a token comes from, in order: the environment, the controller, the cache, a login."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .bearer import BearerToken, is_usable, utcnow
from .cache import CacheEntry, TokenCache
from .errors import ConfigError, LiveChatTokenError, LoginFailed, NoTerminal
from .settings import TOKEN_ENV, Settings, shorten
from .terminal import Terminal, open_terminal


class NotConfigured(ConfigError):
    """No client id and no token: tests that need a token are skipped."""


NOT_CONFIGURED = (
    "no LiveChat client id configured: pass --livechat-client-id=ID, set LIVECHAT_CLIENT_ID "
    f"or ini livechat_client_id, or set {TOKEN_ENV} to a token"
)


@dataclass
class TokenSource:
    """Everything a token can come from, for one process."""

    settings: Settings
    environ: Mapping[str, str]
    interactive: bool
    who: str | None = None
    handed: Mapping[str, Any] | None = None
    open_terminal: Callable[[], Terminal | None] = open_terminal
    open_url: Callable[[str], bool] | None = None  # None: the person's browser
    now: Callable[[], datetime] = utcnow
    cache: TokenCache = field(init=False)

    def __post_init__(self) -> None:
        self.cache = TokenCache(self.settings.token_cache)

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
            if expires_at is None or is_usable(expires_at, self.settings.min_ttl, self.now()):
                return BearerToken(handed, expires_at=expires_at, scope=self.handed.get("scope"))
        entry = self.cache.get(self.settings.accounts_url, self.client_id)
        if entry is not None and is_usable(entry.expires_at, self.settings.min_ttl, self.now()):
            return entry.bearer()
        return None

    def token(self) -> BearerToken:
        """The fixture's answer: a cached token, or one from a guided login."""
        return self.cached() or self.login(force=False)

    def login(self, *, force: bool) -> BearerToken:
        """Log in at the terminal, one process at a time; ``force`` logs in even when cached."""
        client_id = self.client_id
        terminal = self.open_terminal() if self.interactive else None
        if terminal is None:
            raise NoTerminal(self._no_terminal_message())
        try:
            return self._login_at(terminal, client_id, force=force)
        finally:
            terminal.close()

    def _login_at(self, terminal: Terminal, client_id: str, *, force: bool) -> BearerToken:
        tag = f"[{self.who}] " if self.who else ""
        waited: list[bool] = []

        def on_wait() -> None:
            waited.append(True)
            terminal.say(
                f"\n{tag}Waiting for the LiveChat login in progress in another process "
                f"(up to {self.settings.prompt_timeout:.0f} s)…\n"
            )

        with self.cache.login_lock(self.settings.prompt_timeout, on_wait):
            if waited or not force:
                entry = self.cache.get(self.settings.accounts_url, client_id)
                if entry and is_usable(entry.expires_at, self.settings.min_ttl, self.now()):
                    return entry.bearer()
            if waited:
                raise LoginFailed(
                    "The LiveChat login in another process ended without a token "
                    "(see its messages). Run again to log in."
                )
            from .browser import open_in_browser  # noqa: PLC0415 - only a login needs these
            from .login import guided_login  # noqa: PLC0415

            open_url = self.open_url or open_in_browser
            token = guided_login(
                self.settings, terminal, who=self.who, open_url=open_url, now=self.now
            )
            if token.expires_at is not None:
                self.cache.put(
                    self.settings.accounts_url,
                    client_id,
                    CacheEntry(token, token.expires_at, self.now(), scope=token.scope),
                )
                terminal.say(f"  Stored in {self.settings.token_cache}.\n")
            return token

    def _no_terminal_message(self) -> str:
        settings = self.settings
        whom = self.who or "this run"
        return (
            f"No LiveChat token is cached for client {shorten(self.client_id)} at "
            f"{settings.accounts_url}, and {whom} has no terminal to log in from. "
            "Run pytest once in a terminal to log in (the token is cached for later runs), "
            f"log in before the workers start with --livechat-login, or set {TOKEN_ENV}."
        )


__all__ = ["NOT_CONFIGURED", "LiveChatTokenError", "NotConfigured", "TokenSource"]
