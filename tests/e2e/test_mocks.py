"""HTTP mocks that just work (pytest-httpx, respx, run for real): the plugin's own calls to the
accounts server are never seen by a mock a test has active, and ``livechat_accounts`` obtains
tokens before the test's function-scoped fixtures start."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..support.accounts_server import AccountsServer
from ..support.helpers import cache_pair, cache_token

pytest.importorskip("pytest_httpx")
pytest.importorskip("respx")

PYTEST_HTTPX = """
import httpx

URL = "https://api.test/agent/action/list_chats"

def test_mocked_api(httpx_mock, livechat_bearer_for):
    httpx_mock.add_response(url=URL, json={"chats": []})
    supervisor = livechat_bearer_for("supervisor")  # renewed now, inside the mocked test
    answer = httpx.post(URL, headers={"Authorization": supervisor.authorization})
    assert answer.json() == {"chats": []}
"""

RESPX = """
import warnings
import httpx

URL = "https://api.test/agent/action/list_chats"

def test_mocked_api(respx_mock, livechat_bearer_for):
    route = respx_mock.post(URL).respond(json={"chats": []})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RenewalWarning would fail the test
        supervisor = livechat_bearer_for("supervisor")
    httpx.post(URL, headers={"Authorization": supervisor.authorization})
    assert route.called
"""

ASYNC_MOCKED = """
import httpx
import pytest

@pytest.mark.asyncio
async def test_pytest_httpx(httpx_mock, livechat_async_api, livechat_api_url):
    url = f"{livechat_api_url}agent/action/list_chats"
    httpx_mock.add_response(url=url, json={"chats": []})
    httpx_mock.add_callback(lambda request: httpx.Response(200, json={"n": 2}), url=url)
    assert (await livechat_async_api.post("agent/action/list_chats")).json() == {"chats": []}
    assert (await livechat_async_api.post("agent/action/list_chats")).json() == {"n": 2}

@pytest.mark.asyncio
async def test_respx(respx_mock, livechat_async_api, livechat_api_url):
    route = respx_mock.post(f"{livechat_api_url}agent/action/list_chats")
    route.respond(json={"chats": []})
    assert (await livechat_async_api.post("agent/action/list_chats")).json() == {"chats": []}
    assert route.call_count == 1
"""

BLOCKED_BEFORE_THE_TEST = """
import socket
import pytest

@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("no network in this test")
    monkeypatch.setattr(socket.socket, "connect", refuse)

@pytest.mark.livechat_accounts("supervisor")
def test_renewed_before_the_fixtures(livechat_bearer_for):
    assert livechat_bearer_for("supervisor").account == "supervisor"
"""


@pytest.fixture
def due(accounts: AccountsServer, cache_file: Path) -> dict[str, str]:
    """The default account's token is fresh; the supervisor's needs a renewal."""
    cache_token(cache_file, accounts.url, accounts.issue(account_id="acc-1"), account_id="acc-1")
    return cache_pair(cache_file, accounts, seconds=-60)


def run(pytester: pytest.Pytester, accounts: AccountsServer) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--livechat-client-id=client-1",
        f"--livechat-accounts-url={accounts.url}",
    )


@pytest.mark.parametrize("suite", [PYTEST_HTTPX, RESPX], ids=["pytest-httpx", "respx"])
def test_a_renewal_inside_a_mocked_test_reaches_the_accounts_server(
    pytester: pytest.Pytester,
    accounts: AccountsServer,
    due: dict[str, str],
    suite: str,
    with_plugins: None,
) -> None:
    pytester.makepyfile(test_mocked=suite)
    result = run(pytester, accounts)
    result.assert_outcomes(passed=1)
    assert accounts.refresh_calls == 1
    assert "not expected" not in result.stdout.str()


def test_the_async_clients_are_mocked_as_any_client(
    pytester: pytest.Pytester,
    accounts: AccountsServer,
    due: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Their requests are sent from a worker thread by httpx's sync transport: pytest-httpx's
    responses and plain callbacks and respx's routes answer them (nothing reaches LiveChat)."""
    pytester.makepyfile(test_mocked=ASYNC_MOCKED)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest")  # pytest-asyncio is used
    run(pytester, accounts).assert_outcomes(passed=2)


def test_livechat_accounts_obtains_tokens_before_the_test_s_fixtures(
    pytester: pytest.Pytester, accounts: AccountsServer, due: dict[str, str]
) -> None:
    """A function-scoped fixture blocks the network: unmarked, the renewal in the test body
    cannot reach the accounts server; marked, the account was renewed before the fixture."""
    unmarked = BLOCKED_BEFORE_THE_TEST.replace('@pytest.mark.livechat_accounts("supervisor")\n', "")
    pytester.makepyfile(test_blocked=unmarked)
    blocked = run(pytester, accounts)
    blocked.assert_outcomes(failed=1)
    blocked.stdout.fnmatch_lines(["*Could not renew the expired LiveChat token*"])
    assert accounts.refresh_calls == 0
    pytester.makepyfile(test_blocked=BLOCKED_BEFORE_THE_TEST)
    run(pytester, accounts).assert_outcomes(passed=1)
    assert accounts.refresh_calls == 1
