"""Customer identities (agent token grant) and Personal Access Tokens (``LIVECHAT_PAT``), in-process
against the real test accounts server, then through pytest and the CLI."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pytest_livechat_token._base.bearer import utcnow
from pytest_livechat_token._base.errors import ConfigError, MissingScope
from pytest_livechat_token._base.pat import from_environ
from pytest_livechat_token._core.customers import CustomerRefused, CustomerSource
from pytest_livechat_token._store.cache import CustomerEntry, TokenCache

from ..support.accounts_server import AccountsServer
from ..support.helpers import cache_token, make_run

AGENT_SCOPE = "chats--all:rw,customers:own"


def customers(
    accounts: AccountsServer, path: Path, environ: dict[str, str] | None = None, **kwargs: Any
) -> CustomerSource:
    """The customers of a run with nobody to ask."""
    return CustomerSource(make_run(accounts.url, path, environ=environ, **kwargs))


def cached_agent(accounts: AccountsServer, path: Path, scope: str = AGENT_SCOPE) -> str:
    token = accounts.issue(scope=scope)
    cache_token(path, accounts.url, token, account_id="acc-1", scope=scope)
    return token


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "tokens.json"


def fetches(accounts: AccountsServer) -> int:
    return accounts.count("POST", "/v2/customer/token")


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


def test_pytest_says_which_command_drops_a_customer_the_server_no_longer_knows(
    pytester: pytest.Pytester, accounts: AccountsServer, cache_file: Path
) -> None:
    cached_agent(accounts, cache_file)
    now = utcnow()
    gone = CustomerEntry("dal:cust-gone-token-value", "gone-entity", now, now, "org-1")
    TokenCache(cache_file).put_customer(accounts.url, "client-1", "default", gone)
    pytester.makepyfile("def test_chat(livechat_customer):\n    pass\n")
    result = pytester.runpytest_subprocess(
        "--livechat-client-id=client-1", f"--livechat-accounts-url={accounts.url}"
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*no longer knows the cached customer 'default'*Drop it with livechat-token logout "
            "--customer default (same settings)*"
        ]
    )


def run_logout(accounts: AccountsServer, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest_livechat_token", "logout", *args]
    return subprocess.run(
        [*command, "--client-id=client-1", f"--accounts-url={accounts.url}"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_logout_customer_drops_a_customer_the_server_no_longer_knows(
    accounts: AccountsServer, cache_file: Path
) -> None:
    """What the refusal says to do works: ``livechat-token logout --customer NAME`` removes
    the customer (accounts and other customers stay), and the next use makes a new one."""
    cached_agent(accounts, cache_file)
    now = utcnow()
    gone = CustomerEntry("dal:cust-gone-token-value", "gone-entity", now, now, "org-1")
    TokenCache(cache_file).put_customer(accounts.url, "client-1", "default", gone)
    kept = CustomerEntry("dal:cust-kept-token-value", "kept-entity", now, now, "org-1")
    TokenCache(cache_file).put_customer(accounts.url, "client-1", "other", kept)
    result = run_logout(accounts, "--customer=default")
    assert result.returncode == 0, result.stderr
    assert "Removed the customer 'default' (customer gone-entity)" in result.stderr
    left = TokenCache(cache_file)
    assert set(left.customers()) == {(accounts.url, "client-1", "other")}
    assert left.get(accounts.url, "client-1") is not None
    fresh = customers(accounts, cache_file).token("default")
    assert fresh.entity_id != "gone-entity"
    again = run_logout(accounts, "--customer=default")
    assert again.returncode == 0
    assert "Removed the customer 'default'" in again.stderr


def test_logout_customer_revokes_the_customer_token(
    accounts: AccountsServer, cache_file: Path
) -> None:
    """Customer accounts API: ``DELETE /v2/customer/token``."""
    cached_agent(accounts, cache_file)
    customer = customers(accounts, cache_file).token("buyer")
    assert customer in accounts.customer_tokens
    result = run_logout(accounts, "--customer=buyer")
    assert result.returncode == 0, result.stderr
    assert "the customer token was revoked at LiveChat" in result.stderr
    assert customer not in accounts.customer_tokens
    assert accounts.count("DELETE", "/v2/customer/token") == 1
    assert TokenCache(cache_file).customers() == {}
    assert customer not in result.stderr + result.stdout


def test_logout_of_an_account_revokes_the_customers_it_made(
    accounts: AccountsServer, cache_file: Path
) -> None:
    cached_agent(accounts, cache_file)
    made = customers(accounts, cache_file).token("buyer")
    stored = TokenCache(cache_file).get_customer(accounts.url, "client-1", "buyer")
    assert stored is not None
    assert stored.agent == "default"
    now = utcnow()
    theirs = CustomerEntry("dal:cust-theirs-token-value", "e-2", now, now, "org-1", "supervisor")
    TokenCache(cache_file).put_customer(accounts.url, "client-1", "theirs", theirs)
    result = run_logout(accounts)
    assert result.returncode == 0, result.stderr
    assert "Logged out: removed the token from the cache" in result.stderr
    assert "Removed the customer 'buyer'" in result.stderr
    assert made not in accounts.customer_tokens
    left = TokenCache(cache_file).customers()
    assert set(left) == {(accounts.url, "client-1", "theirs")}, "another account's stays"
    assert left[(accounts.url, "client-1", "theirs")].agent == "supervisor", "read back"


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


@pytest.mark.parametrize(
    "value",
    [
        "acc-1:dal:pat-token-value-123",
        base64.b64encode(b"acc-1:dal:pat-token-value-123").decode(),
        "Basic " + base64.b64encode(b"acc-1:dal:pat-token-value-123").decode(),
    ],
    ids=["plain", "base64", "basic-header"],
)
def test_a_pat_in_either_form(value: str) -> None:
    pat = from_environ({"LIVECHAT_PAT": value})
    assert pat is not None
    assert (pat.account_id, pat.token, pat.region) == ("acc-1", "dal:pat-token-value-123", "dal")
    assert pat.authorization == "Basic " + base64.b64encode(
        b"acc-1:dal:pat-token-value-123"
    ).decode("ascii")
    assert "pat-token-value" not in repr(pat)


@pytest.mark.parametrize(
    "value", [":token-without-account", "acc-1:", "bm90IGEgcGF0", "not base64!", "a b:c d e f g h"]
)
def test_a_malformed_pat_is_refused_without_echo(value: str) -> None:
    with pytest.raises(
        ConfigError, match="LIVECHAT_PAT does not hold a Personal Access Token"
    ) as e:
        from_environ({"LIVECHAT_PAT": value})
    assert value not in str(e.value)


@pytest.mark.parametrize("value", ["agent@example.com:dal:pat-token-value-123", "basic"])
def test_a_pat_of_an_e_mail_address_asks_for_the_account_id(value: str) -> None:
    if value == "basic":
        value = base64.b64encode(b"agent@example.com:dal:pat-token-value-123").decode()
    with pytest.raises(ConfigError, match="names an e-mail address as its user") as e:
        from_environ({"LIVECHAT_PAT": value})
    assert "the account id instead" in str(e.value)
    assert "example.com" not in str(e.value)
    assert "pat-token-value" not in str(e.value)


# -- through pytest ------------------------------------------------------------------------------

CUSTOMER_TEST = """
def test_chat(livechat_customer, livechat_customer_api, livechat_customer_for):
    answer = livechat_customer_api.post("start_chat", json={})
    assert answer.status_code == 200, answer.text
    assert answer.json()["entity"] == livechat_customer.entity_id
    assert livechat_customer_for("default") is livechat_customer
    print("entity", livechat_customer.entity_id)
"""


def _run(pytester: pytest.Pytester, accounts: AccountsServer, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--livechat-client-id=client-1",
        f"--livechat-accounts-url={accounts.url}",
        f"--livechat-api-url={accounts.url}/v3.6/",
        *args,
    )


def test_the_customer_api_client(
    pytester: pytest.Pytester, accounts: AccountsServer, cache_file: Path
) -> None:
    cached_agent(accounts, cache_file)
    pytester.makepyfile(test_chat=CUSTOMER_TEST)
    result = _run(pytester, accounts, "-s")
    result.assert_outcomes(passed=1)
    (call,) = accounts.api_calls
    assert call["path"] == "/v3.6/customer/action/start_chat"
    assert call["query"] == {"organization_id": ["org-1"]}
    assert call["authorization"] in {f"Bearer {t}" for t in accounts.customer_tokens}
    assert call["region"] == "dal"
    assert all(token not in result.stdout.str() for token in accounts.customer_tokens)


def test_without_customers_own_the_test_is_skipped(
    pytester: pytest.Pytester, accounts: AccountsServer, cache_file: Path
) -> None:
    cached_agent(accounts, cache_file, scope="chats--all:rw")
    pytester.makepyfile(test_chat=CUSTOMER_TEST)
    result = _run(pytester, accounts, "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        ["*lacks the customers:own scope*Developer Console*pytest --livechat-login*"]
    )
    assert fetches(accounts) == 0


def test_four_workers_fetch_one_customer(
    pytester: pytest.Pytester, accounts: AccountsServer, cache_file: Path
) -> None:
    cached_agent(accounts, cache_file)
    for module in range(4):
        pytester.makepyfile(
            **{
                f"test_c{module}": "def test_c(livechat_customer):\n"
                "    assert livechat_customer.entity_id\n"
            }
        )
    result = _run(pytester, accounts, "-n", "4", "--dist", "loadfile")
    result.assert_outcomes(passed=4)
    assert fetches(accounts) == 1
    assert len(accounts.customer_ids) == 1


PAT = "acc-7:dal:pat-" + "SecretValue0123456789"
PAT_API_TEST = """
import pytest

@pytest.mark.livechat_scopes("agents--all:rw")
def test_groups(livechat_api):
    assert livechat_api.post("configuration/action/list_groups", json={}).status_code == 200
"""


@pytest.mark.parametrize("form", ["plain", "base64"])
def test_livechat_api_with_a_pat_asks_for_no_login(
    pytester: pytest.Pytester, accounts: AccountsServer, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    basic = base64.b64encode(PAT.encode()).decode()
    accounts.pats[basic] = "acc-7"
    monkeypatch.setenv("LIVECHAT_PAT", PAT if form == "plain" else basic)
    pytester.makepyfile(test_pat=PAT_API_TEST)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--livechat-api-url={accounts.url}/v3.6/"
    )
    result.assert_outcomes(passed=1)
    (call,) = accounts.api_calls
    assert (call["authorization"], call["region"]) == (f"Basic {basic}", "dal")
    out = result.stdout.str()
    assert "livechat: livechat_api uses the Personal Access Token in LIVECHAT_PAT" in out
    assert "LiveChat login" not in out
    for secret in (PAT, basic, PAT.split(":", 1)[1]):
        assert secret not in out


def test_a_malformed_pat_stops_pytest(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIVECHAT_PAT", "acc-1:secret part with spaces")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "LIVECHAT_PAT does not hold a Personal Access Token" in result.stderr.str()
    assert "secret part" not in result.stdout.str() + result.stderr.str()


# -- the CLI -------------------------------------------------------------------------------------


def test_cli_customer_and_status(accounts: AccountsServer, cache_file: Path) -> None:
    cached_agent(accounts, cache_file)
    command = [sys.executable, "-m", "pytest_livechat_token"]
    settings = ["--client-id=client-1", f"--accounts-url={accounts.url}"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, *args, *settings],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    printed = run("customer", "--name=buyer")
    assert printed.returncode == 0, printed.stderr
    token = printed.stdout.strip()
    assert accounts.customer_tokens[token]
    status = run("status")
    assert status.returncode == 0
    (row,) = [line for line in status.stdout.splitlines() if " buyer " in line]
    assert accounts.customer_tokens[token] in row
    assert token not in status.stdout
    assert run("customer", "--name=buyer").stdout.strip() == token, "the same, from the cache"
    assert fetches(accounts) == 1


def _answer(entity_id: str, organization_id: str | None) -> tuple[int, bytes, dict[str, str]]:
    """A fixed ``POST /v2/customer/token`` answer (the server's knob)."""
    body: dict[str, object] = {
        "access_token": "dal:cust-fixed-token-value",
        "client_id": "client-1",
        "entity_id": entity_id,
        "expires_in": 28800,
        "token_type": "Bearer",
    }
    if organization_id is not None:
        body["organization_id"] = organization_id
    return 200, json.dumps(body).encode(), {}


def test_an_answer_for_another_customer_is_refused(accounts: AccountsServer, path: Path) -> None:
    cached_agent(accounts, path)
    first = customers(accounts, path).token("default")
    entry = TokenCache(path).get_customer(accounts.url, "client-1", "default")
    assert entry is not None
    TokenCache(path).put_customer(
        accounts.url, "client-1", "default", entry._replace(expires_at=utcnow())
    )
    accounts.fixed[("POST", "/v2/customer/token")] = _answer("someone-else", "org-1")
    with pytest.raises(CustomerRefused, match="another customer than 'default'"):
        customers(accounts, path).token("default")
    kept = TokenCache(path).get_customer(accounts.url, "client-1", "default")
    assert kept is not None
    assert kept.entity_id == first.entity_id, "nothing cached over it"


def test_an_answer_without_an_organization_takes_the_agents(
    accounts: AccountsServer, path: Path
) -> None:
    cached_agent(accounts, path)  # cached with organization org-1
    accounts.fixed[("POST", "/v2/customer/token")] = _answer("e-9", None)
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


def test_a_customer_without_an_organization_fails_the_customer_api(
    pytester: pytest.Pytester, accounts: AccountsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An environment agent token (no organization known) and an answer without one."""
    monkeypatch.setenv("LIVECHAT_BEARER_TOKEN", accounts.issue(scope=AGENT_SCOPE))
    accounts.fixed[("POST", "/v2/customer/token")] = _answer("e-9", None)
    pytester.makepyfile(test_chat=CUSTOMER_TEST)
    result = _run(pytester, accounts)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*came without an organization id*"])


def test_workers_on_another_disk_get_the_cached_customer(
    pytester: pytest.Pytester, accounts: AccountsServer, cache_file: Path, tmp_path: Path
) -> None:
    cached_agent(accounts, cache_file)
    customers(accounts, cache_file).token("default")
    for module in range(2):
        pytester.makepyfile(
            **{
                f"test_c{module}": "def test_c(livechat_customer):\n"
                "    assert livechat_customer.organization_id == 'org-1'\n"
            }
        )
    elsewhere = tmp_path / "worker-cache"
    tx = f"popen//env:XDG_CACHE_HOME={elsewhere}"
    result = _run(pytester, accounts, "--tx", tx, "--tx", tx, "--dist", "loadfile")
    result.assert_outcomes(passed=2)
    assert fetches(accounts) == 1, "the one made above; the workers were handed it"
    assert not (elsewhere / "pytest-livechat-token" / "tokens.json").exists()


def test_cli_customer_without_the_scope(accounts: AccountsServer, cache_file: Path) -> None:
    cached_agent(accounts, cache_file, scope="chats--all:rw")
    result = subprocess.run(
        [
            *(sys.executable, "-m", "pytest_livechat_token", "customer"),
            *("--client-id=client-1", f"--accounts-url={accounts.url}"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 1
    assert "lacks the customers:own scope" in result.stderr
    assert "livechat-token login --force" in result.stderr
