"""The contract between the xdist controller and its workers, in one place: what is handed
(``HandOff``: settings, whether a person can be asked, each account's and customer's token),
how it is built (``payload``) and how a worker reads it back (``settings_from``,
``bearer_of``, ``customer_of``; everything handed is checked, as if from outside).

Imported only by a controller that has workers and by a worker that was handed something.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from . import redact
from .bearer import BearerToken, CustomerToken, is_token_shaped, seconds_left
from .settings import Settings

if TYPE_CHECKING:
    from .cache import CacheEntry, CustomerEntry, Key
    from .run import Run

KEY = "livechat_token"
"""The key of the hand-off in xdist's ``workerinput``."""
_NOT_HANDED = ("token_cache", "cache_problem")
"""Settings that are per host: a worker keeps its own."""
_T = TypeVar("_T")


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


class HandOff(TypedDict, total=False):
    """What the controller hands each worker, through ``workerinput``: its settings (all but
    the cache path, which is per host), whether a person can be asked, and the token of each
    account and customer it holds a fresh one for."""

    settings: dict[str, Any]
    interactive: bool
    accounts: dict[str, HandedToken]
    customers: dict[str, HandedCustomer]


def payload(run: Run) -> HandOff:
    """What the controller hands its workers: the cache is read once for every account and
    customer; an account with only a refresh token is renewed first (silently), so that
    workers which share no disk with the controller get a token. Nothing here fails: what
    cannot be had is left out, and the worker looks for it itself."""
    settings = run.settings
    handed = {name: value for name, value in settings._asdict().items() if name not in _NOT_HANDED}
    accounts: dict[str, HandedToken] = {}
    customers: dict[str, HandedCustomer] = {}
    entries: Mapping[Key, CacheEntry] = {}
    names = [settings.account]
    if settings.client_id is not None:
        entries = _safely(run.cache.entries) or {}
        names += run.accounts(entries)
    for name in sorted(set(names)):
        if (token := _safely(partial(_fresh_or_renewed, run, name, entries))) is not None:
            accounts[name] = _token_fields(token)
    if settings.client_id is not None:
        cached: Mapping[Key, CustomerEntry] = _safely(run.cache.customers) or {}
        for name in run.customer_names(cached):
            if (customer := _safely(partial(run.customers.cached, name, cached))) is not None:
                customers[name] = _customer_fields(customer)
    return {
        "settings": handed,
        "interactive": run.interactive,
        "accounts": accounts,
        "customers": customers,
    }


def settings_from(settings: Settings, handed: HandOff) -> Settings:
    """A worker's settings: its own cache path, the controller's everything else."""
    given = handed.get("settings")
    if not isinstance(given, dict):
        return settings
    names = set(settings._fields) - set(_NOT_HANDED)
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
    """The customer token handed over for ``name``, checked (it must say its expiry and
    entity id); None otherwise."""
    customers = handed.get("customers") if handed else None
    found = _checked(customers.get(name) if isinstance(customers, dict) else None, now)
    if found is None:
        return None
    token, expires_at, text = found
    entity_id = text("entity_id")
    if expires_at is None or entity_id is None:
        return None
    return CustomerToken(
        token,
        entity_id=entity_id,
        organization_id=text("organization_id"),
        expires_at=expires_at,
        name=name,
    )


def _token_fields(token: BearerToken) -> HandedToken:
    return {
        "token": str(token),
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        "scope": token.scope,
        "account_id": token.account_id,
        "organization_id": token.organization_id,
    }


def _customer_fields(token: CustomerToken) -> HandedCustomer:
    return {
        "token": str(token),
        "entity_id": token.entity_id,
        "organization_id": token.organization_id,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
    }


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


def _fresh_or_renewed(
    run: Run, account: str, entries: Mapping[Key, CacheEntry]
) -> BearerToken | None:
    source = run.account(account)
    return source.cached(entries) or source.renewed()


def _safely(step: Callable[[], _T | None]) -> _T | None:
    """``step()``, or None when it fails in any way (a bug of ours included): the hand-off is
    best effort, and the workers look for what it lacks themselves, with the usual one-line
    errors."""
    try:
        return step()
    except Exception:
        return None
