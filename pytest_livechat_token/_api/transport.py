"""What the API clients do with LiveChat's answers beyond plain HTTP, sync and async alike:

- a ``misdirected_request`` error ("Wrong region", with ``data.region``; Messaging APIs,
  "Possible errors") is sent again once with ``X-Region`` set to the region it names, and the
  retry is logged at DEBUG;
- a ``Legacy`` or ``Deprecation`` header (the APIs' lifecycle: "Responses contain the ``Legacy``
  header that specifies when this stage ends", ``YYYY-MM-DD``) gives one
  ``ApiLifecycleWarning`` a run for each version and stage;
- a ``429`` (``too_many_requests``, the Messaging APIs' rate limit) is sent again after its
  ``Retry-After`` (at most ``MAX_WAIT`` seconds) or a backoff of 1, 2, 4 s, at most
  ``RATE_RETRIES`` times, each logged at DEBUG; the last answer is returned as it came.

Imported with httpx, when a client is made.
"""

from __future__ import annotations

import json
import logging
import re

import httpx

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


class LiveChatTransport(httpx.BaseTransport):
    """``httpx.HTTPTransport`` with LiveChat's rate-limit and region retries and lifecycle
    warning."""

    def __init__(self, inner: httpx.BaseTransport | None = None) -> None:
        self.inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        import time

        request.read()  # a retry sends the body again
        tries = 0
        while True:
            response = self._once(request)
            if (wait := _rate_limited(request, response, tries)) is None:
                return response
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
    """``LiveChatTransport``'s async twin; it keeps no connection between requests (see
    ``api.async_api_client``)."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.inner = inner or httpx.AsyncHTTPTransport(
            limits=httpx.Limits(max_keepalive_connections=0)
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import anyio  # httpx's own: whichever event loop runs the test

        await request.aread()
        tries = 0
        while True:
            response = await self._once(request)
            if (wait := _rate_limited(request, response, tries)) is None:
                return response
            await response.aclose()
            await anyio.sleep(wait)
            tries += 1

    async def _once(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        _lifecycle(request, response)
        if not _looks_like_an_error(response):
            return response
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
        await response.aclose()
        region = _right_region(response, raw)
        if region is None or request.headers.get("X-Region") == region:
            return _kept(response, raw)
        retried = await self.inner.handle_async_request(_again(request, region))
        _lifecycle(request, retried)
        return retried

    async def aclose(self) -> None:
        await self.inner.aclose()
