"""The ready LiveChat API client. httpx is imported only when the client is made."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .bearer import BearerToken

if TYPE_CHECKING:
    import httpx

TIMEOUT = 30.0


def api_client(base_url: str, token: BearerToken) -> httpx.Client:
    """An ``httpx.Client`` for ``base_url`` that sends the token as LiveChat's SDKs do."""
    import httpx  # noqa: PLC0415 - heavy; only tests that use the API client need it

    headers = {"Authorization": token.authorization}
    if token.region:
        headers["X-Region"] = token.region
    return httpx.Client(base_url=base_url, headers=headers, timeout=TIMEOUT)
