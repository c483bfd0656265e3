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
import httpx
import pytest

@pytest.fixture(params=["asyncio"])
def anyio_backend(request):
    return request.param

@pytest.mark.asyncio
async def test_under_pytest_asyncio(livechat_async_api, livechat_bearer):
    assert isinstance(livechat_async_api, httpx.AsyncClient)
    response = await livechat_async_api.post("configuration/action/list_groups", json={})
    assert response.json() == [{"id": 0, "name": "General"}]
    assert livechat_async_api.headers["Authorization"] == livechat_bearer.authorization
    assert livechat_async_api.headers["X-Region"] == "fra-a"
    assert livechat_async_api.timeout.read == 30

@pytest.mark.asyncio
async def test_a_second_test_a_second_loop(livechat_async_api):
    response = await livechat_async_api.post("configuration/action/list_groups", json={})
    assert response.status_code == 200

@pytest.mark.anyio
async def test_under_anyio(livechat_async_api):
    response = await livechat_async_api.post("configuration/action/list_groups", json={})
    assert response.status_code == 200

@pytest.mark.asyncio
async def test_a_customer(livechat_customer_async_api, livechat_customer):
    response = await livechat_customer_async_api.post("start_chat", json={})
    assert response.status_code == 200
    assert livechat_customer_async_api.params["organization_id"] == "org-1"

def test_the_api_url(livechat_api_url, livechat_api):
    assert livechat_api_url == str(livechat_api.base_url)
    assert livechat_api_url.endswith("/v3.6/")
"""


def test_async_clients_under_pytest_asyncio_and_anyio(
    pytester: pytest.Pytester,  # before monkeypatch.setenv below: pytester clears the variable
    accounts: AccountsServer,
    cache_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest")  # asyncio and anyio are used
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
    assert accounts.count("POST", "/v3.6/configuration/action/list_groups") == 3
    assert token not in result.stdout.str()
