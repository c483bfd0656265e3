"""Customer identities (agent token grant) and Personal Access Tokens (``LIVECHAT_PAT``) through
pytest, xdist and the CLI (their in-process tests: ``tests/unit/core/test_customers.py`` and
``tests/unit/base/test_pat.py``)."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_livechat_token._base.bearer import utcnow
from pytest_livechat_token._store.cache import CustomerEntry, TokenCache

from ..support.accounts_server import AccountsServer
from ..support.helpers import cli_against, run_against
from ..support.inprocess import AGENT_SCOPE, cached_agent, customer_answer, customers, fetches


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
    result = cli_against(accounts, "logout", "--customer=default")
    assert result.returncode == 0, result.stderr
    assert "Removed the customer 'default' (customer gone-entity)" in result.stderr
    left = TokenCache(cache_file)
    assert set(left.customers()) == {(accounts.url, "client-1", "other")}
    assert left.get(accounts.url, "client-1") is not None
    fresh = customers(accounts, cache_file).token("default")
    assert fresh.entity_id != "gone-entity"
    again = cli_against(accounts, "logout", "--customer=default")
    assert again.returncode == 0
    assert "Removed the customer 'default'" in again.stderr


def test_logout_customer_revokes_the_customer_token(
    accounts: AccountsServer, cache_file: Path
) -> None:
    """Customer accounts API: ``DELETE /v2/customer/token``."""
    cached_agent(accounts, cache_file)
    customer = customers(accounts, cache_file).token("buyer")
    assert customer in accounts.customer_tokens
    result = cli_against(accounts, "logout", "--customer=buyer")
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
    result = cli_against(accounts, "logout")
    assert result.returncode == 0, result.stderr
    assert "Logged out: removed the token from the cache" in result.stderr
    assert "Removed the customer 'buyer'" in result.stderr
    assert made not in accounts.customer_tokens
    left = TokenCache(cache_file).customers()
    assert set(left) == {(accounts.url, "client-1", "theirs")}, "another account's stays"
    assert left[(accounts.url, "client-1", "theirs")].agent == "supervisor", "read back"


# -- through pytest ------------------------------------------------------------------------------

CUSTOMER_TEST = """
def test_chat(livechat_customer, livechat_customer_api, livechat_customer_for):
    answer = livechat_customer_api.post("start_chat", json={})
    assert answer.status_code == 200, answer.text
    assert answer.json()["entity"] == livechat_customer.entity_id
    assert livechat_customer_for("default") is livechat_customer
    print("entity", livechat_customer.entity_id)
"""


def test_the_customer_api_client(
    pytester: pytest.Pytester, accounts: AccountsServer, cache_file: Path
) -> None:
    cached_agent(accounts, cache_file)
    pytester.makepyfile(test_chat=CUSTOMER_TEST)
    result = run_against(pytester, accounts, "-s")
    result.assert_outcomes(passed=1)
    call, cleanup = accounts.api_calls  # the chat, and its deactivation when the test ended
    assert call["path"] == "/v3.6/customer/action/start_chat"
    assert call["query"] == {"organization_id": ["org-1"]}
    assert call["authorization"] in {f"Bearer {t}" for t in accounts.customer_tokens}
    assert call["region"] == "dal"
    assert cleanup["path"] == "/v3.6/customer/action/deactivate_chat"
    assert {key: cleanup[key] for key in ("query", "authorization", "region")} == {
        key: call[key] for key in ("query", "authorization", "region")
    }
    assert not accounts.active_chats()
    assert all(token not in result.stdout.str() for token in accounts.customer_tokens)


def test_without_customers_own_the_test_is_skipped(
    pytester: pytest.Pytester, accounts: AccountsServer, cache_file: Path
) -> None:
    cached_agent(accounts, cache_file, scope="chats--all:rw")
    pytester.makepyfile(test_chat=CUSTOMER_TEST)
    result = run_against(pytester, accounts, "-rs")
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
    result = run_against(pytester, accounts, "-n", "4", "--dist", "loadfile")
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

    printed = cli_against(accounts, "customer", "--name=buyer")
    assert printed.returncode == 0, printed.stderr
    token = printed.stdout.strip()
    assert accounts.customer_tokens[token]
    status = cli_against(accounts, "status")
    assert status.returncode == 0
    (row,) = [line for line in status.stdout.splitlines() if " buyer " in line]
    assert accounts.customer_tokens[token] in row
    assert token not in status.stdout
    assert cli_against(accounts, "customer", "--name=buyer").stdout.strip() == token, (
        "the same, from the cache"
    )
    assert fetches(accounts) == 1


def test_a_customer_without_an_organization_fails_the_customer_api(
    pytester: pytest.Pytester, accounts: AccountsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An environment agent token (no organization known) and an answer without one."""
    monkeypatch.setenv("LIVECHAT_BEARER_TOKEN", accounts.issue(scope=AGENT_SCOPE))
    accounts.fixed[("POST", "/v2/customer/token")] = customer_answer("e-9", None)
    pytester.makepyfile(test_chat=CUSTOMER_TEST)
    result = run_against(pytester, accounts)
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
    result = run_against(pytester, accounts, "--tx", tx, "--tx", tx, "--dist", "loadfile")
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
