"""Customer identities: a customer access token for the Customer Chat API, made from the default
agent account's token with LiveChat's agent token grant. Each customer name keeps its entity id
in the cache, so later runs are the same customer; its token is fetched again when it has less
than min-ttl left, by one process at a time."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .._base import redact
from .._base.bearer import BearerToken, CustomerToken, still_valid
from .._base.errors import (
    AccountsUnreachable,
    CacheWarning,
    GrantRefused,
    LiveChatTokenError,
    MissingScope,
    NoCache,
    NotConfigured,
    printable,
    reason,
    warn,
)
from .._base.settings import account_name
from .._store.cache import CustomerEntry, Key
from .obtain import source_of

if TYPE_CHECKING:
    from .run import Run

log = logging.getLogger("pytest_livechat_token")
SCOPE = "customers:own"


class CustomerRefused(LiveChatTokenError):
    """The accounts server would not make a customer token."""


class CustomerSource:
    """The customers of one run, made with the token of the default account. No state of its
    own: what was fetched or refused is kept in the run."""

    __slots__ = ("run",)

    def __init__(self, run: Run) -> None:
        self.run = run

    def __repr__(self) -> str:
        return f"CustomerSource({self.run!r})"

    def cached(
        self, name: str, customers: Mapping[Key, CustomerEntry] | None = None
    ) -> CustomerToken | None:
        """A usable customer token without fetching one: this process's, the controller's, or
        the cache's (of ``customers`` when the caller has read them already)."""
        run = self.run
        if run.settings.client_id is None:
            raise NotConfigured(
                "customer tokens need the LiveChat app's client id: "
                f"{run.wording.flag('client_id')}"
            )
        known = run.customers_obtained.get(name)
        if known is not None and still_valid(known.expires_at, run.now()):
            return known
        if run.handed is not None:
            from .handed import customer_of  # only workers are handed anything

            if (handed := customer_of(run.handed, name, run.now())) is not None:
                return handed
        key = (run.settings.accounts_url, run.client_id, name)
        entry = (run.cache.customers() if customers is None else customers).get(key)
        if entry is not None and run.fresh(entry):
            return self._use(name, entry)
        return None

    def token(self, name: str) -> CustomerToken:
        """The customer ``name``'s token: cached, or fetched (a new customer the first time,
        a new token for its entity id later). Raises ``MissingScope`` when the agent token
        lacks ``customers:own``, ``CustomerRefused`` for another refusal, ``ConfigError`` for
        a name that breaks the rule (it names a lock file)."""
        if (found := self.cached(account_name(name, "a customer name"))) is not None:
            return found
        if (failed := self.run.customers_failed.get(name)) is not None:
            raise failed
        try:
            return self._obtain(name)
        except (MissingScope, CustomerRefused) as error:
            self.run.customers_failed[name] = error
            raise

    def _obtain(self, name: str) -> CustomerToken:
        run = self.run
        agent_token = source_of(run).token()  # the agent's own login, if one is needed
        if agent_token.scope is not None:
            from .._base.scopes import missing_scopes

            if missing_scopes([SCOPE], agent_token.scope):
                raise MissingScope(self._missing_scope(agent_token.account))
        url, client_id = run.settings.accounts_url, run.client_id

        def on_wait() -> None:
            run.notices.say(f"Waiting for another process to fetch the LiveChat customer {name!r}…")

        with run.locks.customer(name, run.settings.prompt_timeout, on_wait):
            entry = run.cache.get_customer(url, client_id, name)  # another may have fetched
            if entry is not None and run.fresh(entry):
                return self._use(name, entry)
            return self._fetch(name, agent_token, entry)

    def _fetch(
        self, name: str, agent_token: BearerToken, entry: CustomerEntry | None
    ) -> CustomerToken:
        from .._auth.oauth import TIMEOUT, customer_token  # the accounts server's client, urllib's
        from .shield import shielded

        run = self.run
        url, client_id = run.settings.accounts_url, run.client_id
        entity_id = entry.entity_id if entry is not None else None
        log.debug(
            "%sfetching a token for the customer %r (%s)",
            run.notices.tag,
            name,
            "a new one" if entity_id is None else "its entity id",
        )
        requested_at = run.now()

        def fetch_and_store() -> CustomerEntry:
            """Once the server has made the token, it is stored, whatever interrupts the caller
            meanwhile (``shield``): a new customer's entity id is not lost."""
            answer = customer_token(url, agent_token, client_id, entity_id)
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
                agent_token.account,
            )
            redact.remember(fetched.access_token)
            try:
                run.cache.put_customer(url, client_id, name, fetched)
            except NoCache:
                pass  # kept for the run, as the header said
            except (OSError, LiveChatTokenError) as error:
                warn(
                    CacheWarning(
                        f"could not store the LiveChat customer {name!r} in "
                        f"{printable(str(run.settings.token_cache))} ({reason(error)}); it is "
                        "used for this run only, and the next run makes a new customer."
                    )
                )
            return fetched

        try:
            fetched = shielded(fetch_and_store, TIMEOUT + 5)
        except MissingScope:
            raise MissingScope(self._missing_scope(agent_token.account)) from None
        except GrantRefused as refused:
            if entity_id is None:
                raise CustomerRefused(
                    f"Could not get a LiveChat customer token for {name!r} (a new customer): "
                    f"{refused}."
                ) from None
            drop = run.wording.flag("drop_customer").replace("{name}", name)
            raise CustomerRefused(
                f"The LiveChat accounts server no longer knows the cached customer {name!r} "
                f"(customer {entity_id}; {refused}). Drop it with {drop}: the next run makes a "
                "new customer under that name."
            ) from None
        except AccountsUnreachable as unreachable:
            which = "a new customer" if entity_id is None else f"customer {entity_id}"
            raise CustomerRefused(
                f"Could not get a LiveChat customer token for {name!r} ({which}): {unreachable}."
            ) from None
        return self._use(name, fetched)

    def _use(self, name: str, entry: CustomerEntry) -> CustomerToken:
        redact.remember(entry.access_token)
        token = entry.token(name)
        self.run.customers_obtained[name] = token
        return token

    def _missing_scope(self, account: str) -> str:
        return (
            f"the LiveChat agent token of {account!r} lacks the {SCOPE} scope, which customer "
            "tokens need: add it to the app's scopes (Developer Console > your app > "
            f"Authorization), then log in again ({self.run.wording.flag('login')})"
        )
