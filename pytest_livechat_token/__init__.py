"""pytest-livechat-token: a valid LiveChat OAuth bearer token for your tests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .bearer import BearerToken, CustomerToken
    from .errors import ApiLifecycleWarning, CacheWarning, RenewalWarning
    from .rtm_frames import RtmError

__all__ = [
    "ApiLifecycleWarning",
    "BearerToken",
    "CacheWarning",
    "CustomerToken",
    "RenewalWarning",
    "RtmError",
    "__version__",
]
__version__ = "0.1.0"

_EXPORTS = {
    "ApiLifecycleWarning": "errors",
    "BearerToken": "bearer",
    "CustomerToken": "bearer",
    "CacheWarning": "errors",
    "RenewalWarning": "errors",
    "RtmError": "rtm_frames",
}


def __getattr__(name: str) -> Any:
    """The exported names, imported when first asked for (PEP 562): pytest imports this
    package at every start-up, and most runs never touch a token class."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module  # noqa: PLC0415

    return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
