"""What the API clients do with LiveChat's answers beyond plain HTTP, sync and async alike:

- a ``misdirected_request`` error ("Wrong region", with ``data.region``; Messaging APIs,
  "Possible errors") is sent again once with ``X-Region`` set to the region it names, and the
  retry is logged at DEBUG;
- a ``Legacy`` or ``Deprecation`` header (the APIs' lifecycle: "Responses contain the ``Legacy``
  header that specifies when this stage ends", ``YYYY-MM-DD``) gives one
  ``ApiLifecycleWarning`` a run for each version and stage;
- a ``429`` (``too_many_requests``, the Messaging APIs' rate limit) is sent again after its
  ``Retry-After`` (at most ``MAX_WAIT`` seconds) or a backoff of 1, 2, 4 s, at most
  ``RATE_RETRIES`` times, each logged at DEBUG; the last answer is returned as it came;
- a chat started, resumed or deactivated (``_base.chats``) is told to ``on_chat`` before its
  answer reaches the caller (the chat cleanup's journal), unless an HTTP mock answered it
  (pytest-httpx, respx: their answers are no chat at LiveChat).

Imported with httpx, when a client is made.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable
from typing import Any

import httpcore
import httpx

from .._base.chats import CHAT_ACTIONS, chat_of
from .._base.errors import ApiLifecycleWarning, printable, warn

log = logging.getLogger("pytest_livechat_token")

_REGION = re.compile(r"[a-z0-9][a-z0-9-]{0,15}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_VERSION = re.compile(r"/v(\d+(?:\.\d+)?)/")
_MAX_ERROR_BODY = 65536
RATE_RETRIES = 3
MAX_WAIT = 10.0
_announced: set[tuple[str, str]] = set()
"""(version, header) pairs already warned of in this process."""
OnChat = Callable[[str, str], None]
"""What a client tells of a chat: the action (``start_chat``...) and the chat's id."""
_REAL_SEND = httpx.HTTPTransport.handle_request
_REAL_POOL = httpcore.ConnectionPool.handle_request
"""httpx's and httpcore's own, as this module found them: pytest-httpx and respx replace them
while they mock."""


def _kept(response: httpx.Response, raw: bytes) -> httpx.Response:
    """``response`` again, its body (as it came, still encoded) read into memory."""
    return httpx.Response(
        response.status_code,
        headers=response.headers,
        stream=httpx.ByteStream(raw),
        extensions=response.extensions,
    )


def _right_region(response: httpx.Response, raw: bytes) -> str | None:
    """The region a ``misdirected_request`` answer names, when it names one that reads as
    a region (``dal``, ``fra``); None for any other answer."""
    if len(raw) > _MAX_ERROR_BODY:
        return None
    try:
        body = httpx.Response(200, headers=response.headers, content=raw).read()
        error = json.loads(body).get("error")
        region = error["data"]["region"] if error.get("type") == "misdirected_request" else None
    except (ValueError, AttributeError, KeyError, TypeError, httpx.DecodingError):
        return None
    return region if isinstance(region, str) and _REGION.fullmatch(region) else None


def _looks_like_an_error(response: httpx.Response) -> bool:
    """Worth reading the body of: a JSON error answer of a bounded size."""
    length = response.headers.get("Content-Length", "")
    return (
        response.status_code >= 400
        and "json" in response.headers.get("Content-Type", "")
        and (not length or (length.isdigit() and int(length) <= _MAX_ERROR_BODY))
    )


def _lifecycle(request: httpx.Request, response: httpx.Response) -> None:
    for header, stage in (("Deprecation", "deprecated"), ("Legacy", "legacy")):
        value = response.headers.get(header)
        if value is None:
            continue
        found = _VERSION.search(request.url.path)
        version = found.group(1) if found else "?"
        if (version, header) in _announced:
            continue
        _announced.add((version, header))
        date = value.strip() if _DATE.fullmatch(value.strip()) else printable(value, 40)
        warn(
            ApiLifecycleWarning(
                f"LiveChat API v{version} is {stage} (its {header} header says the stage ends "
                f"{date}): move the API URL to a newer version before this one is switched "
                "off."
            )
        )


def _again(request: httpx.Request, region: str) -> httpx.Request:
    log.debug(
        "LiveChat answered misdirected_request for %s: sending it again once with X-Region: %s",
        request.url.path,
        region,
    )
    headers = httpx.Headers(request.headers)
    headers["X-Region"] = region
    return httpx.Request(
        request.method, request.url, headers=headers, content=request.content, extensions={}
    )


def _rate_limited(request: httpx.Request, response: httpx.Response, tries: int) -> float | None:
    """How long to wait before sending ``request`` again after ``response``, when it is a rate
    limit (429) and ``tries`` retries are not used up; None otherwise."""
    if response.status_code != 429 or tries >= RATE_RETRIES:
        return None
    given = response.headers.get("Retry-After", "").strip()
    wait = min(float(given), MAX_WAIT) if given.isascii() and given.isdigit() else 2.0**tries
    log.debug(
        "LiveChat answered 429 too_many_requests for %s: sending it again in %.0f s (%d of %d)",
        request.url.path,
        wait,
        tries + 1,
        RATE_RETRIES,
    )
    return wait


def _mocked() -> bool:
    """Whether an HTTP mock answers httpx's requests now: pytest-httpx's (it replaces
    ``HTTPTransport.handle_request``) or respx's (it patches httpcore's pool's)."""
    return (
        httpx.HTTPTransport.handle_request is not _REAL_SEND
        or httpcore.ConnectionPool.handle_request is not _REAL_POOL
    )


def _watched(request: httpx.Request, response: httpx.Response, on_chat: OnChat) -> httpx.Response:
    """``response``, read, after telling ``on_chat`` of the chat it started, resumed or
    deactivated (a successful answer to one of ``CHAT_ACTIONS``)."""
    action = request.url.path.rsplit("/", 1)[-1]
    if request.method != "POST" or action not in CHAT_ACTIONS or response.status_code != 200:
        return response
    raw = b"".join(response.iter_raw())
    response.close()
    kept = _kept(response, raw)
    if _mocked():
        return kept
    try:
        sent = json.loads(request.content or b"{}")
        answer = httpx.Response(200, headers=response.headers, content=raw).json()
    except (ValueError, httpx.DecodingError):
        return kept
    if (chat_id := chat_of(action, sent, answer)) is not None:
        on_chat(action, chat_id)
    return kept


class LiveChatTransport(httpx.BaseTransport):
    """``httpx.HTTPTransport`` with LiveChat's rate-limit and region retries, lifecycle
    warning, and chats told to ``on_chat``."""

    def __init__(
        self, inner: httpx.BaseTransport | None = None, on_chat: OnChat | None = None
    ) -> None:
        self.inner = inner or httpx.HTTPTransport()
        self.on_chat = on_chat

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        import time

        request.read()  # a retry sends the body again
        tries = 0
        while True:
            response = self._once(request)
            if (wait := _rate_limited(request, response, tries)) is None:
                if self.on_chat is None:
                    return response
                return _watched(request, response, self.on_chat)
            response.close()
            time.sleep(wait)
            tries += 1

    def _once(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        _lifecycle(request, response)
        if not _looks_like_an_error(response):
            return response
        raw = b"".join(response.iter_raw())
        response.close()
        region = _right_region(response, raw)
        if region is None or request.headers.get("X-Region") == region:
            return _kept(response, raw)
        retried = self.inner.handle_request(_again(request, region))
        _lifecycle(request, retried)
        return retried

    def close(self) -> None:
        self.inner.close()


class AsyncLiveChatTransport(httpx.AsyncBaseTransport):
    """``LiveChatTransport`` with an async face, bound to no event loop.

    Each request is sent by a ``LiveChatTransport`` (httpx's pooled sync transport inside) in
    one of anyio's worker threads, so under whatever loop awaits it (asyncio's or trio's, of any
    scope), and its answer is read whole there. The connections belong to the pool, not to a
    loop: they are reused from request to request and from loop to loop, and ``close`` closes
    them from anywhere, loop or none. A request whose caller is cancelled goes on in its thread
    and its connection goes back to the pool.
    """

    def __init__(
        self, inner: httpx.BaseTransport | None = None, on_chat: OnChat | None = None
    ) -> None:
        self.sync = LiveChatTransport(inner, on_chat)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        from anyio import to_thread  # httpx's own async layer

        await request.aread()  # sent from the thread, as bytes
        return await to_thread.run_sync(self._whole, request, **_abandon())

    def _whole(self, request: httpx.Request) -> httpx.Response:
        response = self.sync.handle_request(request)
        try:
            raw = b"".join(response.iter_raw())
        finally:
            response.close()
        return _kept(response, raw)

    async def aclose(self) -> None:
        self.close()

    def close(self) -> None:
        self.sync.close()


@functools.cache
def _abandon() -> dict[str, Any]:
    """anyio's keyword that lets a cancelled caller go on without its thread's result
    (``abandon_on_cancel`` since anyio 4.1, ``cancellable`` before)."""
    import inspect

    from anyio import to_thread

    named = inspect.signature(to_thread.run_sync).parameters
    return {"abandon_on_cancel" if "abandon_on_cancel" in named else "cancellable": True}
