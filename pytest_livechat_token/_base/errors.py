"""The errors and warnings the plugin raises. Each message is for a person: what happened and
what to do. No message ever holds a token.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable


class CacheWarning(UserWarning):
    """The cache file could not be used as it was; the run goes on without it."""


class ApiLifecycleWarning(UserWarning):
    """A LiveChat API version answered with its ``Legacy`` or ``Deprecation`` header: it will
    be switched off on the date named."""


class RenewalWarning(UserWarning):
    """Renewing the token with its refresh token did not go as planned."""


class CleanupWarning(UserWarning):
    """A chat the tests started could not be deactivated (it is named); it stays in the
    journal for the next run or ``livechat-token sweep``."""


class LiveChatTokenError(Exception):
    """Base of every error of ours; its message is shown as is, without a traceback."""


class ConfigError(LiveChatTokenError):
    """A setting has a value we cannot use."""


class CacheLockTimeout(LiveChatTokenError):
    """The cache lock stayed taken for longer than we wait."""


class CacheUnusable(LiveChatTokenError):
    """The cache is not ours (owner, mode, kind of file): nothing is read from it or written."""


class NoCache(CacheUnusable):
    """The cache path names no file to keep (``/dev/null``, another device, a pipe, a
    directory): the run keeps its tokens in memory, as asked."""


class NotConfigured(ConfigError):
    """No client id and no token: tests that need a token are skipped."""


class NoTerminal(LiveChatTokenError):
    """A login is needed but nobody can be asked."""


class LoginFailed(LiveChatTokenError):
    """The guided login ended without a token."""


class LoginCancelled(LoginFailed):
    """The person cancelled the login (Ctrl-C)."""


class MissingScope(LiveChatTokenError):
    """The agent token lacks a scope a request needs (``customers:own`` for customer tokens):
    the tests that need it are skipped."""


class PasteRejected(LiveChatTokenError):
    """What was pasted is not a usable answer; the person may try again."""


class AccountsUnreachable(LiveChatTokenError):
    """The accounts server could not be asked, was busy (429, 5xx) or refused the request for
    a reason other than the grant itself; ``retry_after`` is the wait it asked for, if any."""

    retry_after: float | None = None


class ClientRefused(LiveChatTokenError):
    """The accounts server refused the client itself (its secret): nothing cached is dropped."""


class TokenRejected(LiveChatTokenError):
    """The accounts server refused the token."""


class GrantRefused(TokenRejected):
    """The accounts server said a code or a refresh token is no good (``invalid_grant``)."""


def printable(text: str, limit: int = 200) -> str:
    """``text`` as one safe line for a terminal: control characters (ESC, OSC, bidi overrides,
    newlines) escaped as ``\\xNN``, and at most ``limit`` characters."""
    shown = "".join(_shown(char) for char in text[: limit + 1])
    return shown if len(text) <= limit else shown[:limit] + "…"


def _shown(char: str) -> str:
    if char.isprintable():
        return char
    code = ord(char)
    return f"\\x{code:02x}" if code < 256 else f"\\u{code:04x}"


def reason(error: BaseException) -> str:
    """Why an operation failed, in a few words: an ``OSError``'s text (its class name when it has
    none), else the error's own message (ours hold no token)."""
    if isinstance(error, OSError):
        return error.strerror or type(error).__name__
    return str(error)


class Once:
    """Says each message once (through ``say``): a run reads the cache many times."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self._say = say
        self._said: set[str] = set()

    def __call__(self, message: str) -> None:
        if message not in self._said:
            self._said.add(message)
            self._say(message)


def warn(warning: Warning, stacklevel: int = 3) -> None:
    """Issue ``warning`` as the person's filters say: ``-W ignore::...`` silences it, and
    ``-W error`` (or ``filterwarnings = error``) turns it into an error like any other
    warning (the front ends show it in one line, ``_plugin.stash.guarded``)."""
    warnings.warn(warning, stacklevel=stacklevel)
