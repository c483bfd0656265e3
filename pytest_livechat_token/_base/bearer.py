"""The bearer token value and the arithmetic of its expiry. Pure: no I/O."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, TypeGuard

_SHOWN_TAIL = 4
_MIN_LENGTH_TO_SHOW_TAIL = 16
MAX_LIFETIME = 366 * 86400.0  # an expiry further away than a year is not believed
_TOKEN_SHAPE = r"[A-Za-z0-9][A-Za-z0-9._~+/=:-]{7,4095}"


def is_token_shaped(text: str) -> bool:
    """Whether ``text`` can be a LiveChat access or refresh token: 8 to 4096 characters of
    the URL-safe and base64 alphabets and ``:`` (no space, newline or control character)."""
    return re.fullmatch(_TOKEN_SHAPE, text) is not None  # compiled at first use, then cached


def is_short_id(value: object) -> TypeGuard[str]:
    """Whether ``value`` can be an id LiveChat gives (account, organization, customer entity):
    a printable string of 1 to 128 characters."""
    return isinstance(value, str) and 0 < len(value) <= 128 and value.isprintable()


def region_of(token: str) -> str | None:
    """The region prefix of a LiveChat token (``dal`` of ``dal:...``), or None."""
    prefix, sep, _ = token.partition(":")
    return prefix if sep and prefix else None


def mask(token: str) -> str:
    """A form of ``token`` safe to show: at most its region and its last 4 characters."""
    region = region_of(token)
    secret = token[len(region) + 1 :] if region else token
    tail = secret[-_SHOWN_TAIL:] if len(secret) >= _MIN_LENGTH_TO_SHOW_TAIL else ""
    return f"{region + ':' if region else ''}…{tail}"


class _Token(str):
    """A LiveChat token as a ``str``: what both kinds have. ``_KNOWN`` names the attributes
    that a copy (pickle, xdist, ``copy``) carries along."""

    _KNOWN: tuple[str, ...] = ()

    @property
    def region(self) -> str | None:
        """The prefix before ``:`` (``dal``, ``fra``, ``fra-a``), or None."""
        return region_of(self)

    @property
    def authorization(self) -> str:
        """The value of an ``Authorization`` header: ``Bearer <token>``."""
        return f"Bearer {self}"

    def __reduce__(self) -> tuple[Any, ...]:
        known = {name: getattr(self, name) for name in self._KNOWN}
        return (_rebuild, (type(self), str(self), known))


def _rebuild(cls: type[_Token], value: str, known: dict[str, Any]) -> _Token:
    return cls(value, **known)


class BearerToken(_Token):
    """A LiveChat bearer token: the decoded token itself (``dal:...``), with what is known of it.

    It is a ``str``, so it goes wherever a token goes. Its ``repr()`` is masked, so that
    ``pytest -l``, tracebacks and assertion messages do not show it. ``account`` is the name
    the tests use for its LiveChat user; ``account_id`` and ``organization_id`` are what
    ``/v2/info`` says of it (None when unknown, as for a token from the environment).
    """

    expires_at: datetime | None
    scope: str | None
    account: str
    account_id: str | None
    organization_id: str | None
    _KNOWN = ("expires_at", "scope", "account", "account_id", "organization_id")

    def __new__(
        cls,
        value: str,
        *,
        expires_at: datetime | None = None,
        scope: str | None = None,
        account: str = "default",
        account_id: str | None = None,
        organization_id: str | None = None,
    ) -> BearerToken:
        token = super().__new__(cls, value)
        token.expires_at = expires_at
        token.scope = scope
        token.account = account
        token.account_id = account_id
        token.organization_id = organization_id
        return token

    def __repr__(self) -> str:
        expires = self.expires_at.isoformat() if self.expires_at else None
        return (
            f"BearerToken({mask(self)!r}, account={self.account!r}, "
            f"account_id={self.account_id!r}, expires_at={expires!r})"
        )


class CustomerToken(_Token):
    """A LiveChat customer access token (Customer Chat API), made with the agent token grant:
    a ``str`` like ``BearerToken``, with a masked ``repr()``. ``name`` is what the tests call
    the customer; ``entity_id`` is the customer's id at LiveChat."""

    name: str
    entity_id: str
    organization_id: str | None
    expires_at: datetime | None
    _KNOWN = ("entity_id", "organization_id", "expires_at", "name")

    def __new__(
        cls,
        value: str,
        *,
        entity_id: str,
        organization_id: str | None = None,
        expires_at: datetime | None = None,
        name: str = "default",
    ) -> CustomerToken:
        token = super().__new__(cls, value)
        token.name = name
        token.entity_id = entity_id
        token.organization_id = organization_id
        token.expires_at = expires_at
        return token

    def __repr__(self) -> str:
        expires = self.expires_at.isoformat() if self.expires_at else None
        return (
            f"CustomerToken({mask(self)!r}, name={self.name!r}, entity_id={self.entity_id!r}, "
            f"expires_at={expires!r})"
        )


class BotToken(_Token):
    """A LiveChat bot's token (Configuration API, Issue Bot Token; valid 24 hours, not
    revocable): a ``str`` like ``BearerToken``, with a masked ``repr()``. ``name`` is what the
    tests call the bot; ``bot_id`` is the bot's agent id at LiveChat."""

    name: str
    bot_id: str
    organization_id: str | None
    expires_at: datetime | None
    _KNOWN = ("bot_id", "organization_id", "expires_at", "name")

    def __new__(
        cls,
        value: str,
        *,
        bot_id: str,
        organization_id: str | None = None,
        expires_at: datetime | None = None,
        name: str = "default",
    ) -> BotToken:
        token = super().__new__(cls, value)
        token.name = name
        token.bot_id = bot_id
        token.organization_id = organization_id
        token.expires_at = expires_at
        return token

    def __repr__(self) -> str:
        expires = self.expires_at.isoformat() if self.expires_at else None
        return (
            f"BotToken({mask(self)!r}, name={self.name!r}, bot_id={self.bot_id!r}, "
            f"expires_at={expires!r})"
        )


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def expires_at_from(expires_in: float, now: datetime) -> datetime:
    """The absolute expiry of a token that has ``expires_in`` seconds left at ``now``.

    Raises ValueError for a lifetime that is negative or longer than ``MAX_LIFETIME``.
    """
    if not 0 <= expires_in <= MAX_LIFETIME:
        raise ValueError("a token lifetime must be between 0 s and a year")
    return now + timedelta(seconds=expires_in)


def seconds_left(expires_at: datetime, now: datetime) -> float:
    return (expires_at - now).total_seconds()


def is_usable(expires_at: datetime | None, min_ttl: float, now: datetime) -> bool:
    """Whether a token expiring at ``expires_at`` still has at least ``min_ttl`` seconds left.

    A token whose expiry is unknown is never taken from the cache (it is never stored there).
    """
    return expires_at is not None and seconds_left(expires_at, now) >= min_ttl


def still_valid(expires_at: datetime | None, now: datetime) -> bool:
    """Whether a token this process holds may still be used: not expired, or of an unknown
    expiry (a token obtained in this run that is kept for this run only)."""
    return expires_at is None or seconds_left(expires_at, now) > 0


def describe_duration(seconds: float) -> str:
    """``7 h 59 min``, ``3 min``, ``40 s``: how long, for people."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"
