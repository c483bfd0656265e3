"""The ready LiveChat API client. httpx is imported only when the client is made."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .bearer import BearerToken, CustomerToken

if TYPE_CHECKING:
    import httpx

    from .pat import PersonalAccessToken

TIMEOUT = 30.0


def api_client(base_url: str, token: BearerToken) -> httpx.Client:
    """An ``httpx.Client`` for ``base_url`` that sends the token as LiveChat's SDKs do."""
    import httpx  # noqa: PLC0415 - heavy; only tests that use the API client need it

    headers = {"Authorization": token.authorization}
    if token.region:
        headers["X-Region"] = token.region
    return httpx.Client(base_url=base_url, headers=headers, timeout=TIMEOUT)


def pat_client(base_url: str, pat: PersonalAccessToken) -> httpx.Client:
    """An ``httpx.Client`` for ``base_url`` that sends a Personal Access Token (Basic auth)."""
    import httpx  # noqa: PLC0415

    headers = {"Authorization": pat.authorization}
    if pat.region:
        headers["X-Region"] = pat.region
    return httpx.Client(base_url=base_url, headers=headers, timeout=TIMEOUT)


def customer_client(base_url: str, token: CustomerToken) -> httpx.Client:
    """An ``httpx.Client`` for the Customer Chat API (``<base_url>customer/action/<action>``)
    that sends the customer token, ``X-Region`` and the ``organization_id`` query parameter
    every Customer Chat API call needs."""
    import httpx  # noqa: PLC0415

    headers = {"Authorization": token.authorization}
    if token.region:
        headers["X-Region"] = token.region
    params = {"organization_id": token.organization_id} if token.organization_id else {}
    return httpx.Client(
        base_url=f"{base_url}customer/action/", headers=headers, params=params, timeout=TIMEOUT
    )
