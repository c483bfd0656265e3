"""Customer identities (agent token grant) and Personal Access Tokens (``LIVECHAT_PAT``), in-process
against the real test accounts server, then through pytest and the CLI."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from pytest_livechat_token import redact
from pytest_livechat_token.bearer import utcnow
from pytest_livechat_token.cache import CustomerEntry, TokenCache
from pytest_livechat_token.customers import CustomerRefused, CustomerSource
from pytest_livechat_token.errors import ConfigError, MissingScope
from pytest_livechat_token.obtain import TokenSource
from pytest_livechat_token.pat import from_environ
from pytest_livechat_token.settings import Settings

from .accounts_server import AccountsServer
from .helpers import cache_token

AGENT_SCOPE = "chats--all:rw,customers:own"


@pytest.fixture(autouse=True)
def _no_known_secrets() -> Iterator[None]:
    redact.forget_all()
    yield
    redact.forget_all()


def agent(
    accounts: AccountsServer, path: Path, environ: dict[str, str] | None = None
) -> TokenSource:
    settings = Settings(
        token_cache=path, client_id="client-1", accounts_url=accounts.url, prompt_timeout=5
    )
    return TokenSource(settings, environ or {}, interactive=False)


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
    customer = CustomerSource(agent(accounts, path)).token("default")
    assert customer.entity_id in accounts.customer_ids
    assert accounts.customer_tokens[customer] == customer.entity_id
    assert (customer.name, customer.organization_id, customer.region) == ("default", "org-1", "dal")
    assert customer.authorization == f"Bearer {customer}"
    assert str(customer) not in repr(customer)
    assert fetches(accounts) == 1
    # Another run: the same customer and token from the cache, no request.
    again = CustomerSource(agent(accounts, path)).token("default")
    assert (again, again.entity_id) == (customer, customer.entity_id)
    assert fetches(accounts) == 1
    # Another name is another customer.
    other = CustomerSource(agent(accounts, path)).token("returning")
    assert other.entity_id != customer.entity_id
    assert len(accounts.customer_ids) == 2


def test_an_expiring_customer_gets_a_new_token_for_the_same_entity(
    accounts: AccountsServer, path: Path
) -> None:
    cached_agent(accounts, path)
    first = CustomerSource(agent(accounts, path)).token("default")
    entry = TokenCache(path).get_customer(accounts.url, "client-1", "default")
    assert entry is not None
    now = utcnow()
    stale = CustomerEntry(
        entry.access_token, entry.entity_id, now + timedelta(seconds=300), now, "org-1"
    )
    TokenCache(path).put_customer(accounts.url, "client-1", "default", stale)
    renewed = CustomerSource(agent(accounts, path)).token("default")
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
    source = CustomerSource(agent(accounts, path))
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
    source = CustomerSource(agent(accounts, path, {"LIVECHAT_BEARER_TOKEN": token}))
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
        CustomerSource(agent(accounts, path)).token("default")
    message = str(raised.value)
    assert "\n" not in message
    assert "customer gone-entity" in message
    assert "HTTP 400: invalid_request" in message
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
    source = CustomerSource(agent(accounts, path), handed)  # type: ignore[arg-type]
    token = source.token("default")
    assert (token, token.entity_id) == ("dal:cust-handed-token", "e-1")
    assert source.cached("damaged") is None
    assert accounts.requests == []


def test_customers_need_a_client_id(accounts: AccountsServer, path: Path) -> None:
    settings = Settings(token_cache=path, accounts_url=accounts.url)
    source = TokenSource(
        settings, {"LIVECHAT_BEARER_TOKEN": "dal:env-token-1234"}, interactive=False
    )
    with pytest.raises(ConfigError, match="customer tokens need the LiveChat app's client id"):
        CustomerSource(source).token("default")


def test_a_customer_name_follows_the_account_rule(accounts: AccountsServer, path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[a-z0-9\]"):
        CustomerSource(agent(accounts, path)).token("Not OK")


def test_customers_and_accounts_share_the_file_and_keep_each_other(
    accounts: AccountsServer, path: Path
) -> None:
    cached_agent(accounts, path)
    CustomerSource(agent(accounts, path)).token("default")
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
