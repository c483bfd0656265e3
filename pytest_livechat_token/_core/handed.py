"""What the xdist controller hands a worker, as the worker reads it back (``settings_from``,
``bearer_of``, ``customer_of``, ``bot_of``; everything handed is checked, as if from outside),
and its shape (``HandOff``). How the controller builds it is ``handoff.payload``. Imported only
by a worker that was handed something (and for the types)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, TypedDict

from .._base import redact
from .._base.bearer import BearerToken, BotToken, CustomerToken, is_token_shaped, seconds_left
from .._base.settings import Settings

KEY = "livechat_token"
"""The key of the hand-off in xdist's ``workerinput``."""
NOT_HANDED = ("token_cache", "cache_problem")
"""Settings that are per host: a worker keeps its own."""


class HandedToken(TypedDict, total=False):
    """One account's token."""

    token: str
    expires_at: str | None
    scope: str | None
    account_id: str | None
    organization_id: str | None


class HandedCustomer(TypedDict, total=False):
    """One customer's token."""

    token: str
    entity_id: str
    organization_id: str | None
    expires_at: str | None


class HandedBot(TypedDict, total=False):
    """One bot's token: never its secret, which stays with the controller and the cache."""

    token: str
    bot_id: str
    organization_id: str | None
    expires_at: str | None


class HandOff(TypedDict, total=False):
    """What the controller hands each worker, through ``workerinput``: its settings (all but
    the cache path, which is per host), whether a person can be asked, and the token of each
    account, customer and bot it holds a fresh one for."""

    settings: dict[str, Any]
    interactive: bool
    accounts: dict[str, HandedToken]
    customers: dict[str, HandedCustomer]
    bots: dict[str, HandedBot]


def settings_from(settings: Settings, handed: HandOff) -> Settings:
    """A worker's settings: its own cache path, the controller's everything else."""
    given = handed.get("settings")
    if not isinstance(given, dict):
        return settings
    names = set(settings._fields) - set(NOT_HANDED)
    return settings._replace(**{key: value for key, value in given.items() if key in names})


def bearer_of(handed: HandOff | None, account: str, now: datetime) -> BearerToken | None:
    """The token handed over for ``account``, checked; None when there is none, it is
    damaged, or it has expired. It counts as fresh while it is valid (the controller has just
    checked or renewed it for this run)."""
    accounts = handed.get("accounts") if handed else None
    found = _checked(accounts.get(account) if isinstance(accounts, dict) else None, now)
    if found is None:
        return None
    token, expires_at, text = found
    return BearerToken(
        token,
        expires_at=expires_at,
        scope=text("scope"),
        account=account,
        account_id=text("account_id"),
        organization_id=text("organization_id"),
    )


def customer_of(handed: HandOff | None, name: str, now: datetime) -> CustomerToken | None:
    """The customer token handed over for ``name``, checked (``_identity``); None otherwise."""
    found = _identity(handed, "customers", name, now, "entity_id")
    if found is None:
        return None
    token, expires_at, entity_id, organization_id = found
    return CustomerToken(
        token,
        entity_id=entity_id,
        organization_id=organization_id,
        expires_at=expires_at,
        name=name,
    )


def bot_of(handed: HandOff | None, name: str, now: datetime) -> BotToken | None:
    """The bot token handed over for ``name``, checked (``_identity``); None otherwise."""
    found = _identity(handed, "bots", name, now, "bot_id")
    if found is None:
        return None
    token, expires_at, bot_id, organization_id = found
    return BotToken(
        token,
        bot_id=bot_id,
        organization_id=organization_id,
        expires_at=expires_at,
        name=name,
    )


def _identity(
    handed: HandOff | None,
    section: Literal["customers", "bots"],
    name: str,
    now: datetime,
    id_key: str,
) -> tuple[str, datetime, str, str | None] | None:
    """The token handed over in ``section`` for ``name``, checked, with its expiry, its id at
    LiveChat (``id_key``) and its organization: None when it does not say its expiry or id,
    or is damaged or expired."""
    given = handed.get(section) if handed else None
    found = _checked(given.get(name) if isinstance(given, dict) else None, now)
    if found is None:
        return None
    token, expires_at, text = found
    identity = text(id_key)
    if expires_at is None or identity is None:
        return None
    return token, expires_at, identity, text("organization_id")


def _checked(
    handed: object, now: datetime
) -> tuple[str, datetime | None, Callable[[str], str | None]] | None:
    """A handed token, checked and remembered as a secret: its value, its expiry (None:
    unknown), and a getter of its other fields that are strings. None when any of it is
    damaged, or it has expired."""
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
