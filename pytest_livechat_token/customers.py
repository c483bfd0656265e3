"""Customer identities: a customer access token for the Customer Chat API, made from the default
agent account's token with LiveChat's agent token grant. Each customer name keeps its entity id
in the cache, so later runs are the same customer; its token is fetched again when it has less
than min-ttl left, by one process at a time."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, TypedDict

from . import redact
from .bearer import BearerToken, CustomerToken, seconds_left
from .cache import CustomerEntry
from .errors import (
    AccountsUnreachable,
    CacheWarning,
    GrantRefused,
    LiveChatTokenError,
    MissingScope,
    printable,
    warn,
)
from .obtain import from_hand_off
from .settings import account_name

if TYPE_CHECKING:
    from .obtain import TokenSource

log = logging.getLogger("pytest_livechat_token")
SCOPE = "customers:own"


class CustomerRefused(LiveChatTokenError):
    """The accounts server would not make a customer token."""


class HandedCustomer(TypedDict, total=False):
    """One customer's token in the xdist hand-off."""

    token: str
    entity_id: str
    organization_id: str | None
    expires_at: str | None


def handed_customer(token: CustomerToken) -> HandedCustomer:
    return {
        "token": str(token),
        "entity_id": token.entity_id,
        "organization_id": token.organization_id,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
    }


class CustomerSource:
    """The customers of one process, made with the token of ``agent`` (the default account)."""

    def __init__(self, agent: TokenSource, handed: dict[str, HandedCustomer] | None = None) -> None:
        self.agent = agent
        self.handed = handed or {}
        self._fetched: dict[str, CustomerToken] = {}
        self._failed: dict[str, LiveChatTokenError] = {}  # asked once a run, like a login

    def __repr__(self) -> str:
        return f"CustomerSource({self.agent!r})"

    def cached(self, name: str) -> CustomerToken | None:
        """A usable customer token without fetching one: this process's, the controller's, or
        the cache's."""
        account_name(name)
        if self.agent.settings.client_id is None:
            from .obtain import NotConfigured  # noqa: PLC0415

            raise NotConfigured(
                "customer tokens need the LiveChat app's client id: "
                f"{self.agent.wording.flag('client_id')}"
            )
        known = self._fetched.get(name)
        if known is not None and self._valid(known.expires_at):
            return known
        if (handed := self._handed(name)) is not None:
            return handed
        agent = self.agent
        entry = agent.cache.get_customer(agent.settings.accounts_url, agent.client_id, name)
        if entry is not None and agent.fresh(entry):
            return self._use(name, entry)
        return None

    def token(self, name: str) -> CustomerToken:
        """The customer ``name``'s token: cached, or fetched (a new customer the first time,
        a new token for its entity id later). Raises ``MissingScope`` when the agent token
        lacks ``customers:own``, ``CustomerRefused`` for another refusal."""
        if (found := self.cached(name)) is not None:
            return found
        if (failed := self._failed.get(name)) is not None:
            raise failed
        try:
            return self._obtain(name)
        except (MissingScope, CustomerRefused) as error:
            self._failed[name] = error
            raise

    def _obtain(self, name: str) -> CustomerToken:
        agent = self.agent
        agent_token = agent.token()  # the agent's own login, if one is needed
        if agent_token.scope is not None:
            from .scopes import missing_scopes  # noqa: PLC0415

            if missing_scopes([SCOPE], agent_token.scope):
                raise MissingScope(self._missing_scope(agent_token.account))
        url, client_id = agent.settings.accounts_url, agent.client_id

        def on_wait() -> None:
            agent.notice(f"Waiting for another process to fetch the LiveChat customer {name!r}…")

        with agent.cache.customer_lock(name, agent.settings.prompt_timeout, on_wait):
            entry = agent.cache.get_customer(url, client_id, name)  # another may have fetched
            if entry is not None and agent.fresh(entry):
                return self._use(name, entry)
            return self._fetch(name, agent_token, entry)

    def _fetch(
        self, name: str, agent_token: BearerToken, entry: CustomerEntry | None
    ) -> CustomerToken:
        from .accounts import customer_token  # noqa: PLC0415 - imports httpx when called

        agent = self.agent
        url, client_id = agent.settings.accounts_url, agent.client_id
        entity_id = entry.entity_id if entry is not None else None
        log.debug(
            "%sfetching a token for the customer %r (%s)",
            agent.tag,
            name,
            "a new one" if entity_id is None else "its entity id",
        )
        requested_at = agent.now()
        try:
            answer = customer_token(url, agent_token, client_id, entity_id)
        except MissingScope:
            raise MissingScope(self._missing_scope(agent.account)) from None
        except (GrantRefused, AccountsUnreachable) as refused:
            which = "a new customer" if entity_id is None else f"customer {entity_id}"
            raise CustomerRefused(
                f"Could not get a LiveChat customer token for {name!r} ({which}): {refused}."
            ) from None
        if entity_id is not None and answer.entity_id != entity_id:
            raise CustomerRefused(
                f"The accounts server answered for another customer than {name!r} "
                f"({printable(answer.entity_id, 64)}, not {entity_id}); nothing was cached."
            )
        fetched = CustomerEntry(
            answer.access_token,
            answer.entity_id,
            answer.expires_at(requested_at),
            requested_at,
            answer.organization_id or agent_token.organization_id,
        )
        redact.remember(fetched.access_token)
        try:
            agent.cache.put_customer(url, client_id, name, fetched)
        except (OSError, LiveChatTokenError) as error:
            reason = error.strerror if isinstance(error, OSError) else str(error)
            warn(
                CacheWarning(
                    f"could not store the LiveChat customer {name!r} in "
                    f"{printable(str(agent.settings.token_cache))} ({reason}); it is used for "
                    "this run only, and the next run makes a new customer."
                )
            )
        return self._use(name, fetched)

    def _use(self, name: str, entry: CustomerEntry) -> CustomerToken:
        redact.remember(entry.access_token)
        token = entry.token(name)
        self._fetched[name] = token
        return token

    def _handed(self, name: str) -> CustomerToken | None:
        found = from_hand_off(self.handed.get(name), self.agent.now())
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

    def _valid(self, expires_at: datetime | None) -> bool:
        return expires_at is not None and seconds_left(expires_at, self.agent.now()) > 0

    def _missing_scope(self, account: str) -> str:
        return (
            f"the LiveChat agent token of {account!r} lacks the {SCOPE} scope, which customer "
            "tokens need: add it to the app's scopes (Developer Console > your app > "
            f"Authorization), then log in again ({self.agent.wording.flag('login')})"
        )
