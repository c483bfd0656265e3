"""Stand-in tokens for a run that only replays recordings (pytest-recording's
``--record-mode=none``): tokens of a token's shape, and identities (account, organization,
customer, bot) that cassettes are written with, so that a cassette recorded with real ones replays
with these in the same test, with no login, no cache and no accounts call. Pure."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from .._base.bearer import BearerToken, BotToken, CustomerToken, utcnow

ORGANIZATION = "standin-organization"
_LIFETIME = timedelta(hours=8)


def bearer(account: str) -> BearerToken:
    """The stand-in token of the account ``account``."""
    return BearerToken(
        _value("bearer", account),
        expires_at=utcnow() + _LIFETIME,
        account=account,
        account_id=f"standin-{account}",
        organization_id=ORGANIZATION,
    )


def customer(name: str) -> CustomerToken:
    """The stand-in token of the customer ``name``."""
    return CustomerToken(
        _value("customer", name),
        entity_id=f"standin-customer-{name}",
        organization_id=ORGANIZATION,
        expires_at=utcnow() + _LIFETIME,
        name=name,
    )


def bot(name: str) -> BotToken:
    """The stand-in token of the bot ``name``."""
    return BotToken(
        _value("bot", name),
        bot_id=f"standin-bot-{name}",
        organization_id=ORGANIZATION,
        expires_at=utcnow() + _LIFETIME,
        name=name,
    )


def identities(token: BearerToken | CustomerToken | BotToken) -> dict[str, str]:
    """The real identities of ``token`` -> the stand-ins a replay uses in their place."""
    if isinstance(token, CustomerToken):
        real = {token.entity_id: f"standin-customer-{token.name}"}
    elif isinstance(token, BotToken):
        real = {token.bot_id: f"standin-bot-{token.name}"}
    else:
        real = {token.account_id: f"standin-{token.account}"} if token.account_id else {}
    if token.organization_id:
        real[token.organization_id] = ORGANIZATION
    return real


def _value(kind: str, name: str) -> str:
    digest = hashlib.sha256(f"pytest-livechat-token stand-in {kind} {name}".encode()).hexdigest()
    return f"dal:standin-{digest[:40]}"
