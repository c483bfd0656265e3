"""The API clients' LiveChat-aware transport (``transport.py``), sync and async, against the real
test server: the rate-limit retry, the region retry of ``misdirected_request`` and the
lifecycle warning."""

from __future__ import annotations

import asyncio
import json
import logging
import warnings
from collections.abc import Iterator

import httpx
import pytest

from pytest_livechat_token import ApiLifecycleWarning
from pytest_livechat_token._api import transport
from pytest_livechat_token._api.clients import api_client, async_api_client
from pytest_livechat_token._base.bearer import BearerToken

from ...support.accounts_server import AccountsServer

LIST_CHATS = "/v3.6/agent/action/list_chats"


@pytest.fixture(autouse=True)
def fresh_announcements() -> Iterator[None]:
    transport._announced.clear()
    yield
    transport._announced.clear()


def bearer(accounts: AccountsServer, region: str = "dal") -> BearerToken:
    return BearerToken(accounts.issue(region=region))


def post_sync(accounts: AccountsServer, token: BearerToken) -> tuple[int, object]:
    with api_client(f"{accounts.url}/v3.6/", token) as client:
        answer = client.post("agent/action/list_chats", json={})
        return answer.status_code, answer.json()


def post_async(accounts: AccountsServer, token: BearerToken) -> tuple[int, object]:
    async def post() -> tuple[int, object]:
        with async_api_client(f"{accounts.url}/v3.6/", token) as client:
            answer = await client.post("agent/action/list_chats", json={})
            return answer.status_code, answer.json()

    return asyncio.run(post())


POSTS = pytest.mark.parametrize("post", [post_sync, post_async], ids=["sync", "async"])


@POSTS
def test_a_misdirected_request_is_sent_again_with_the_region_named(
    accounts: AccountsServer, post: object, caplog: pytest.LogCaptureFixture
) -> None:
    accounts.license_region = "fra"
    caplog.set_level(logging.DEBUG, "pytest_livechat_token")
    assert callable(post)
    status, body = post(accounts, bearer(accounts))
    assert status == 200, body
    assert [call["region"] for call in accounts.api_calls] == ["dal", "fra"]
    assert (
        "misdirected_request for /v3.6/agent/action/list_chats: sending it again once "
        "with X-Region: fra" in caplog.text
    )


@POSTS
def test_it_is_sent_again_only_once(accounts: AccountsServer, post: object) -> None:
    answer = {"error": {"type": "misdirected_request", "data": {"region": "fra"}}}
    accounts.fixed[("POST", LIST_CHATS)] = (421, json.dumps(answer).encode(), {})
    assert callable(post)
    status, body = post(accounts, bearer(accounts))
    assert (status, body) == (421, answer), "the second answer, whole, as it came"
    assert accounts.count("POST", LIST_CHATS) == 2


@pytest.mark.parametrize(
    "answer",
    [
        {"error": {"type": "misdirected_request"}},  # no region named: nothing to retry with
        {"error": {"type": "misdirected_request", "data": {"region": "dal\r\nX-Evil: 1"}}},
        {"error": {"type": "validation", "data": {"region": "fra"}}},
        ["not", "an", "object"],
    ],
)
def test_other_errors_are_answered_as_they_came(accounts: AccountsServer, answer: object) -> None:
    accounts.fixed[("POST", LIST_CHATS)] = (400, json.dumps(answer).encode(), {})
    assert post_sync(accounts, bearer(accounts)) == (400, answer)
    assert accounts.count("POST", LIST_CHATS) == 1


def test_the_same_region_is_not_asked_again(accounts: AccountsServer) -> None:
    answer = {"error": {"type": "misdirected_request", "data": {"region": "dal"}}}
    accounts.fixed[("POST", LIST_CHATS)] = (421, json.dumps(answer).encode(), {})
    assert post_sync(accounts, bearer(accounts))[0] == 421
    assert accounts.count("POST", LIST_CHATS) == 1


@POSTS
@pytest.mark.parametrize(("header", "stage"), [("Legacy", "legacy"), ("Deprecation", "deprecated")])
def test_a_retiring_version_is_announced_once(
    accounts: AccountsServer, post: object, header: str, stage: str
) -> None:
    accounts.api_headers[header] = "2027-03-31"
    assert callable(post)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for _ in range(3):
            post(accounts, bearer(accounts))
    (warning,) = (w for w in seen if issubclass(w.category, ApiLifecycleWarning))
    assert str(warning.message) == (
        f"LiveChat API v3.6 is {stage} (its {header} header says the stage ends 2027-03-31): "
        "move the API URL to a newer version before this one is switched off."
    )


def test_a_hostile_lifecycle_header_is_escaped(accounts: AccountsServer) -> None:
    accounts.api_headers["Legacy"] = "\x1b[2Jsoon"
    with pytest.warns(ApiLifecycleWarning) as seen:
        post_sync(accounts, bearer(accounts))
    assert "\x1b" not in str(seen[0].message)
    assert "\\x1b[2Jsoon" in str(seen[0].message)


@POSTS
def test_a_rate_limited_call_is_sent_again_after_retry_after(
    accounts: AccountsServer, post: object, caplog: pytest.LogCaptureFixture
) -> None:
    """Messaging APIs, "Rate limits": a 429 is sent again, as often as it takes up to the
    bound, each logged at DEBUG."""
    accounts.api_rate_limited = 2
    caplog.set_level(logging.DEBUG, "pytest_livechat_token")
    assert callable(post)
    status, body = post(accounts, bearer(accounts))
    assert status == 200, body
    assert len(accounts.api_calls) == 3
    assert caplog.text.count("429 too_many_requests for /v3.6/agent/action/list_chats") == 2


@POSTS
def test_the_last_rate_limited_answer_is_returned_as_it_came(
    accounts: AccountsServer, post: object
) -> None:
    accounts.api_rate_limited = 10
    assert callable(post)
    status, body = post(accounts, bearer(accounts))
    assert status == 429
    assert body == {"error": {"type": "too_many_requests", "message": "Too many requests"}}
    assert len(accounts.api_calls) == 1 + transport.RATE_RETRIES, "bounded"


def test_without_retry_after_the_wait_backs_off(accounts: AccountsServer) -> None:
    """No Retry-After: 1, 2, 4 s (the waits are what the transport asks; not slept here)."""
    request = httpx.Request("POST", "http://127.0.0.1/v3.6/agent/action/list_chats")
    limited = httpx.Response(429)
    waits = [transport._rate_limited(request, limited, tries) for tries in range(4)]
    assert waits == [1.0, 2.0, 4.0, None]
    capped = httpx.Response(429, headers={"Retry-After": "3600"})
    assert transport._rate_limited(request, capped, 0) == transport.MAX_WAIT
