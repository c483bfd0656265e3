"""pytest-livechat-token: a valid LiveChat OAuth bearer token for your tests.

The public API, in one place: what the fixtures return (``BearerToken``, ``CustomerToken``,
``BotToken``, ``PersonalAccessToken``, the RTM sessions ``Rtm`` and ``AsyncRtm``), the base of
every error of the plugin (``LiveChatTokenError``) and RTM's (``RtmError``), and its warnings.
Every other module path is internal and may change before the first release.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._base.bearer import BearerToken, BotToken, CustomerToken
    from ._base.errors import (
        ApiLifecycleWarning,
        CacheWarning,
        CleanupWarning,
        LiveChatTokenError,
        RenewalWarning,
    )
    from ._base.pat import PersonalAccessToken
    from ._rtm.frames import RtmError
    from ._rtm.session import AsyncRtm, Rtm

__all__ = [
    "ApiLifecycleWarning",
    "AsyncRtm",
    "BearerToken",
    "BotToken",
    "CacheWarning",
    "CleanupWarning",
    "CustomerToken",
    "LiveChatTokenError",
    "PersonalAccessToken",
    "RenewalWarning",
    "Rtm",
    "RtmError",
    "__version__",
]
_EXPORTS = {
    "ApiLifecycleWarning": "_base.errors",
    "AsyncRtm": "_rtm.session",
    "BearerToken": "_base.bearer",
    "BotToken": "_base.bearer",
    "CacheWarning": "_base.errors",
    "CleanupWarning": "_base.errors",
    "CustomerToken": "_base.bearer",
    "LiveChatTokenError": "_base.errors",
    "PersonalAccessToken": "_base.pat",
    "RenewalWarning": "_base.errors",
    "Rtm": "_rtm.session",
    "RtmError": "_rtm.frames",
}


def __getattr__(name: str) -> Any:
    """The exported names, imported when first asked for (PEP 562): pytest imports this
    package at every start-up, and most runs never touch a token class. ``__version__`` is the
    installed distribution's (pyproject.toml is the one place it is written)."""
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("pytest-livechat-token")
        except PackageNotFoundError:  # run from a source tree that was never installed
            return "0+unknown"
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
