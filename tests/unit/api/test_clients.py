"""The async API clients (``clients.py``) over TLS against the real test server, which keeps
connections alive as LiveChat's servers do: one connection for a test's requests, from any
event loop, closed when the client's ``with`` block ends, and a cancelled request that does
not hold up its caller."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest

from pytest_livechat_token._api.clients import async_api_client, async_customer_client
from pytest_livechat_token._base.bearer import BearerToken, CustomerToken

from ...support.accounts_server import AccountsServer

LIST_CHATS = "/v3.6/agent/action/list_chats"


def api_of(server: AccountsServer) -> tuple[str, BearerToken]:
    return f"{server.url}/v3.6/", BearerToken(server.issue())


async def posts(client: httpx.AsyncClient, count: int) -> list[int]:
    return [
        (await client.post("agent/action/list_chats", json={"n": n})).status_code
        for n in range(count)
    ]


def test_twenty_requests_share_one_connection_closed_with_the_client(
    tls_accounts: AccountsServer,
) -> None:
    with async_api_client(*api_of(tls_accounts)) as client:
        assert asyncio.run(posts(client, 20)) == [200] * 20
        assert tls_accounts.connections == 1
        assert tls_accounts.open_connections == 1, "kept alive until the client is closed"
    assert tls_accounts.all_closed()
    assert {call["connection"] for call in tls_accounts.api_calls} == {1}


def test_the_connection_outlives_the_event_loop(tls_accounts: AccountsServer) -> None:
    """Two loops one after the other (two tests under function-scoped loops): the second
    reuses what the first opened, and no loop is needed to close it."""
    with async_api_client(*api_of(tls_accounts)) as client:
        assert asyncio.run(posts(client, 2)) == [200, 200]
        assert asyncio.run(posts(client, 2)) == [200, 200]
    assert tls_accounts.connections == 1
    assert tls_accounts.all_closed()


def test_concurrent_requests_each_have_a_connection(tls_accounts: AccountsServer) -> None:
    """``asyncio.gather`` of requests the server holds: each is in flight at once, on its own
    connection; all are closed at the end."""
    held = threading.Event()
    tls_accounts.hold[("POST", LIST_CHATS)] = held

    async def together() -> list[int]:
        client_calls = asyncio.gather(*(client.post("agent/action/list_chats") for _ in range(3)))
        await asyncio.to_thread(opened, 3)
        held.set()
        return [answer.status_code for answer in await client_calls]

    def opened(count: int) -> None:
        with tls_accounts._closing:
            assert tls_accounts._closing.wait_for(lambda: tls_accounts.connections == count, 30)

    with async_api_client(*api_of(tls_accounts)) as client:
        assert asyncio.run(together()) == [200, 200, 200]
    assert tls_accounts.connections == 3
    assert tls_accounts.all_closed()


def test_a_cancelled_request_does_not_wait_for_its_answer(tls_accounts: AccountsServer) -> None:
    held = threading.Event()
    tls_accounts.hold[("POST", LIST_CHATS)] = held

    async def cancelled() -> None:
        request = asyncio.ensure_future(client.post("agent/action/list_chats"))
        assert await asyncio.to_thread(tls_accounts.arrived.wait, 30)
        request.cancel()
        with pytest.raises(asyncio.CancelledError):
            await request

    with async_api_client(*api_of(tls_accounts)) as client:
        asyncio.run(cancelled())
        assert not held.is_set(), "the caller went on while the answer was still held"
        held.set()
        del tls_accounts.hold[("POST", LIST_CHATS)]
        assert asyncio.run(posts(client, 1)) == [200]
    assert tls_accounts.all_closed()


def test_a_customer_client_too(tls_accounts: AccountsServer) -> None:
    token = CustomerToken(tls_accounts.issue(), entity_id="customer-1", organization_id="org-1")

    async def two() -> list[httpx.URL]:
        return [(await client.post("get_customer")).request.url for _ in range(2)]

    with async_customer_client(f"{tls_accounts.url}/v3.6/", token) as client:
        urls = asyncio.run(two())
    assert {url.path for url in urls} == {"/v3.6/customer/action/get_customer"}
    assert tls_accounts.connections == 1
    assert tls_accounts.all_closed()
