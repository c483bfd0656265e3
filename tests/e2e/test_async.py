"""Async clients (``livechat_async_api``, ``livechat_customer_async_api``) under
pytest-asyncio's and anyio's loops, run for real against the test server, and the configured
API URL (``livechat_api_url``) for a client of one's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..support.accounts_server import AccountsServer
from ..support.helpers import cache_token

pytest.importorskip("pytest_asyncio")

SUITE = """
import os
import httpx
import pytest

KEPT = []  # every client, kept: a connection the fixture did not close would stay open

@pytest.fixture
def nothing_left_open():
    \"\"\"Set up before the client, so torn down after it: then no connection of the test is
    open at the server any more (it waits for them, at most 30 s).\"\"\"
    yield
    server = os.environ["TEST_SERVER"]
    assert httpx.get(f"{server}/_test/others_closed", timeout=60).json() == {"others_closed": True}

@pytest.fixture(params=["asyncio"])
def anyio_backend(request):
    return request.param

async def two_calls(client, test):
    KEPT.append(client)
    for _ in range(2):
        response = await client.post("configuration/action/list_groups", json={"test": test})
        assert response.json() == [{"id": 0, "name": "General"}]

@pytest.mark.asyncio
async def test_under_pytest_asyncio(nothing_left_open, livechat_async_api, livechat_bearer):
    assert isinstance(livechat_async_api, httpx.AsyncClient)
    await two_calls(livechat_async_api, "pytest-asyncio")
    assert livechat_async_api.headers["Authorization"] == livechat_bearer.authorization
    assert livechat_async_api.headers["X-Region"] == "fra-a"
    assert livechat_async_api.timeout.read == 30

@pytest.mark.asyncio(loop_scope="module")
async def test_a_module_scoped_loop(nothing_left_open, livechat_async_api):
    await two_calls(livechat_async_api, "module loop")

@pytest.mark.anyio
async def test_under_anyio(nothing_left_open, livechat_async_api):
    await two_calls(livechat_async_api, "anyio")

@pytest.mark.asyncio
async def test_a_customer(nothing_left_open, livechat_customer_async_api, livechat_customer):
    KEPT.append(livechat_customer_async_api)
    for _ in range(2):
        response = await livechat_customer_async_api.post("start_chat", json={"test": "customer"})
        assert response.status_code == 200
    assert livechat_customer_async_api.params["organization_id"] == "org-1"

def test_the_api_url(livechat_api_url, livechat_api):
    assert livechat_api_url == str(livechat_api.base_url)
    assert livechat_api_url.endswith("/v3.6/")
"""


def test_async_clients_under_pytest_asyncio_and_anyio(
    pytester: pytest.Pytester,  # before monkeypatch.setenv below: pytester clears the variable
    tls_accounts: AccountsServer,
    cache_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Over HTTPS, as LiveChat's APIs are: each test's client has one connection for its
    requests, a connection of its own, closed when the test ends; with ResourceWarnings and
    unraisable exceptions as errors."""
    accounts = tls_accounts
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest")  # asyncio and anyio are used
    monkeypatch.setenv("TEST_SERVER", accounts.url)
    scope = "chats--all:rw,customers:own"
    token = accounts.issue(region="fra-a", account_id="acc-1", scope=scope)
    cache_token(cache_file, accounts.url, token, account_id="acc-1", scope=scope)
    pytester.makepyfile(test_async=SUITE)
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "-W",
        "error::pytest.PytestUnraisableExceptionWarning",
        "-W",
        "error::ResourceWarning",
        "--livechat-client-id=client-1",
        f"--livechat-accounts-url={accounts.url}",
        f"--livechat-api-url={accounts.url}/v3.6",
    )
    result.assert_outcomes(passed=5)
    connections: dict[str, set[int]] = {}
    for call in accounts.api_calls:
        if "test" in call["body"]:  # not the cleanup's Deactivate Chat of the customer's chat
            connections.setdefault(call["body"]["test"], set()).add(call["connection"])
    assert set(connections) == {"pytest-asyncio", "module loop", "anyio", "customer"}
    assert all(len(used) == 1 for used in connections.values()), connections
    assert len(set.union(*connections.values())) == 4, "a connection of its own, each test"
    assert accounts.chats, "the customer started a chat"
    assert not accounts.active_chats(), "and it was deactivated when the test ended"
    assert token not in result.stdout.str()
