"""``_core.customers``: customer identities by the agent token grant, in-process against the
real test accounts server and real files."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from pytest_livechat_token._base.bearer import utcnow
from pytest_livechat_token._base.errors import ConfigError, MissingScope
from pytest_livechat_token._core.customers import CustomerRefused
from pytest_livechat_token._store.cache import CustomerEntry, TokenCache

from ...support.accounts_server import AccountsServer
from ...support.helpers import cache_token
from ...support.inprocess import AGENT_SCOPE, cached_agent, customer_answer, customers, fetches


def test_a_new_customer_is_made_once_and_reused(accounts: AccountsServer, path: Path) -> None:
    cached_agent(accounts, path)
    customer = customers(accounts, path).token("default")
    assert customer.entity_id in accounts.customer_ids
    assert accounts.customer_tokens[customer] == customer.entity_id
    assert (customer.name, customer.organization_id, customer.region) == ("default", "org-1", "dal")
    assert customer.authorization == f"Bearer {customer}"
    assert str(customer) not in repr(customer)
    assert fetches(accounts) == 1
    # Another run: the same customer and token from the cache, no request.
    again = customers(accounts, path).token("default")
    assert (again, again.entity_id) == (customer, customer.entity_id)
    assert fetches(accounts) == 1
    # Another name is another customer.
    other = customers(accounts, path).token("returning")
    assert other.entity_id != customer.entity_id
    assert len(accounts.customer_ids) == 2


def test_an_expiring_customer_gets_a_new_token_for_the_same_entity(
    accounts: AccountsServer, path: Path
) -> None:
    cached_agent(accounts, path)
    first = customers(accounts, path).token("default")
    entry = TokenCache(path).get_customer(accounts.url, "client-1", "default")
    assert entry is not None
    now = utcnow()
    stale = CustomerEntry(
        entry.access_token, entry.entity_id, now + timedelta(seconds=300), now, "org-1"
    )
    TokenCache(path).put_customer(accounts.url, "client-1", "default", stale)
    renewed = customers(accounts, path).token("default")
    assert renewed != first
    assert renewed.entity_id == first.entity_id
    assert len(accounts.customer_ids) == 1
    assert fetches(accounts) == 2
    stored = TokenCache(path).get_customer(accounts.url, "client-1", "default")
    assert stored is not None
    assert stored.access_token == renewed


def test_a_known_scope_without_customers_own_asks_nothing(
    accounts: AccountsServer, path: Path
) -> None:
    cached_agent(accounts, path, scope="chats--all:rw")
    source = customers(accounts, path)
    with pytest.raises(MissingScope, match="lacks the customers:own scope") as raised:
        source.token("default")
    assert "Developer Console" in str(raised.value)
    assert fetches(accounts) == 0
    with pytest.raises(MissingScope):
        source.token("default")


def test_the_servers_refusal_of_the_scope_is_a_missing_scope(
    accounts: AccountsServer, path: Path
) -> None:
    """An environment token's scopes are unknown: the server's 403 says it."""
    token = accounts.issue(scope="chats--all:rw")
    source = customers(accounts, path, {"LIVECHAT_BEARER_TOKEN": token})
    for _ in range(3):
        with pytest.raises(MissingScope, match="customers:own"):
            source.token("default")
    assert fetches(accounts) == 1, "asked once a run"


def test_another_refusal_is_one_line_without_a_token(accounts: AccountsServer, path: Path) -> None:
    """A cached entity the server no longer knows: one line, nothing cached over it."""
    cached_agent(accounts, path)
    now = utcnow()
    gone = CustomerEntry("dal:cust-gone-token-value", "gone-entity", now, now, "org-1")
    TokenCache(path).put_customer(accounts.url, "client-1", "default", gone)
    with pytest.raises(CustomerRefused) as raised:
        customers(accounts, path).token("default")
    message = str(raised.value)
    assert "\n" not in message
    assert "customer gone-entity" in message
    assert "HTTP 400: invalid_request" in message
    assert "no longer knows the cached customer 'default'" in message
    assert "Drop it with" in message
    assert all(token not in message for token in accounts.tokens)


def test_a_handed_customer_is_used_as_is(accounts: AccountsServer, path: Path) -> None:
    expires = (utcnow() + timedelta(hours=1)).isoformat()
    handed = {
        "default": {
            "token": "dal:cust-handed-token",
            "entity_id": "e-1",
            "organization_id": "org-1",
            "expires_at": expires,
        },
        "damaged": {"token": "x y", "entity_id": "e-2", "expires_at": expires},
    }
    source = customers(accounts, path, handed={"customers": handed})
    token = source.token("default")
    assert (token, token.entity_id) == ("dal:cust-handed-token", "e-1")
    assert source.cached("damaged") is None
    assert accounts.requests == []


def test_customers_need_a_client_id(accounts: AccountsServer, path: Path) -> None:
    source = customers(
        accounts, path, {"LIVECHAT_BEARER_TOKEN": "dal:env-token-1234"}, client_id=None
    )
    with pytest.raises(ConfigError, match="customer tokens need the LiveChat app's client id"):
        source.token("default")


def test_a_customer_name_follows_the_account_rule(accounts: AccountsServer, path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[a-z0-9\]"):
        customers(accounts, path).token("Not OK")


def test_customers_and_accounts_share_the_file_and_keep_each_other(
    accounts: AccountsServer, path: Path
) -> None:
    cached_agent(accounts, path)
    customers(accounts, path).token("default")
    cache_token(path, accounts.url, accounts.issue(), account="viewer")  # a write of an account
    document = json.loads(path.read_text())
    assert set(document["customers"][accounts.url]["client-1"]) == {"default"}
    assert set(document["entries"][accounts.url]["client-1"]) == {"default", "viewer"}


def test_an_answer_for_another_customer_is_refused(accounts: AccountsServer, path: Path) -> None:
    cached_agent(accounts, path)
    first = customers(accounts, path).token("default")
    entry = TokenCache(path).get_customer(accounts.url, "client-1", "default")
    assert entry is not None
    TokenCache(path).put_customer(
        accounts.url, "client-1", "default", entry._replace(expires_at=utcnow())
    )
    accounts.fixed[("POST", "/v2/customer/token")] = customer_answer("someone-else", "org-1")
    with pytest.raises(CustomerRefused, match="another customer than 'default'"):
        customers(accounts, path).token("default")
    kept = TokenCache(path).get_customer(accounts.url, "client-1", "default")
    assert kept is not None
    assert kept.entity_id == first.entity_id, "nothing cached over it"


def test_an_answer_without_an_organization_takes_the_agents(
    accounts: AccountsServer, path: Path
) -> None:
    cached_agent(accounts, path)  # cached with organization org-1
    accounts.fixed[("POST", "/v2/customer/token")] = customer_answer("e-9", None)
    customer = customers(accounts, path).token("default")
    assert (customer.entity_id, customer.organization_id) == ("e-9", "org-1")


def test_a_customer_that_cannot_be_stored_is_used_and_said(
    accounts: AccountsServer, tmp_path: Path
) -> None:
    """A cache directory others may write to is not used: the customer is for this run only."""
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    path = shared / "tokens.json"
    token = accounts.issue(scope=AGENT_SCOPE)
    source = customers(accounts, path, {"LIVECHAT_BEARER_TOKEN": token})
    with pytest.warns(UserWarning, match="not used|could not store|cannot take") as warned:
        customer = source.token("default")
    assert customer in accounts.customer_tokens
    said = " ".join(str(warning.message) for warning in warned)
    assert "could not store the LiveChat customer 'default'" in said
    assert "the next run makes a new customer" in said
    assert not path.exists()


@pytest.mark.parametrize(
    "raw",
    [
        "not an object",
        {"access_token": "x y", "entity_id": "e", "expires_at": "", "obtained_at": ""},
        {
            "access_token": "dal:cust-token-value",
            "entity_id": "e\n1",
            "expires_at": "2099-01-01T00:00:00+00:00",
            "obtained_at": "2026-01-01T00:00:00+00:00",
        },
    ],
    ids=["not-an-object", "bad-token", "bad-entity"],
)
def test_a_damaged_customer_entry_is_not_used(path: Path, raw: object) -> None:
    path.parent.mkdir(mode=0o700)
    section = {"https://a.test": {"c1": {"default": raw}}}
    path.write_text(json.dumps({"version": 2, "entries": {}, "customers": section}))
    path.chmod(0o600)
    with pytest.warns(UserWarning, match="1 damaged entry"):
        assert TokenCache(path).customers() == {}


def test_a_customers_section_that_is_not_an_object_is_a_damaged_file(path: Path) -> None:
    path.parent.mkdir(mode=0o700)
    path.write_text(json.dumps({"version": 2, "entries": {}, "customers": []}))
    path.chmod(0o600)
    with pytest.warns(UserWarning, match="no customers object"):
        assert TokenCache(path).customers() == {}


def test_reprs_hide_the_customer_token(accounts: AccountsServer, path: Path) -> None:
    now = utcnow()
    entry = CustomerEntry("dal:cust-secret-token-value", "e-1", now, now, "org-1")
    assert "secret" not in repr(entry)
    assert "e-1" in repr(entry)
    assert "secret" not in repr(entry.token("buyer"))
    assert repr(customers(accounts, path)).startswith("CustomerSource(Run(")
