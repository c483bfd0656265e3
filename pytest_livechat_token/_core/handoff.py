"""What the xdist controller hands its workers, built once (``payload``): its settings,
whether a person can be asked, each account's, customer's and bot's token (never a bot's
secret). Its shape, and how a
worker reads it back, are ``handed``'s. Imported only by a controller that has workers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from .._base.bearer import BearerToken, BotToken, CustomerToken
from .bots import BotSource
from .customers import CustomerSource
from .handed import NOT_HANDED, HandedBot, HandedCustomer, HandedToken, HandOff
from .obtain import source_of

if TYPE_CHECKING:
    from .._store.cache import BotEntry, CacheEntry, CustomerEntry, Key
    from .run import Run

_T = TypeVar("_T")


def payload(run: Run) -> HandOff:
    """What the controller hands its workers: the cache is read once for every account and
    customer; an account with only a refresh token is renewed first (silently), so that
    workers which share no disk with the controller get a token. Nothing here fails: what
    cannot be had is left out, and the worker looks for it itself."""
    settings = run.settings
    handed = {name: value for name, value in settings._asdict().items() if name not in NOT_HANDED}
    accounts: dict[str, HandedToken] = {}
    customers: dict[str, HandedCustomer] = {}
    bots: dict[str, HandedBot] = {}
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
            if (customer := _safely(partial(CustomerSource(run).cached, name, cached))) is not None:
                customers[name] = _customer_fields(customer)
        found: Mapping[Key, BotEntry] = _safely(run.cache.bots) or {}
        for name in run.bot_names(found):
            if (bot := _safely(partial(BotSource(run).cached, name, found))) is not None:
                bots[name] = _bot_fields(bot)
    return {
        "settings": handed,
        "interactive": run.interactive,
        "accounts": accounts,
        "customers": customers,
        "bots": bots,
    }


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


def _bot_fields(token: BotToken) -> HandedBot:
    return {
        "token": str(token),
        "bot_id": token.bot_id,
        "organization_id": token.organization_id,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
    }


def _fresh_or_renewed(run: Run, name: str, entries: Mapping[Key, CacheEntry]) -> BearerToken | None:
    source = source_of(run, name)
    return source.cached(entries) or source.renewed()


def _safely(step: Callable[[], _T | None]) -> _T | None:
    """``step()``, or None when it fails in any way (a bug of ours included): the hand-off is
    best effort, and the workers look for what it lacks themselves, with the usual one-line
    errors."""
    try:
        return step()
    except Exception:
        return None
