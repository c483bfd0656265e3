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
    return _client(base_url, token.authorization, token.region)


def pat_client(base_url: str, pat: PersonalAccessToken) -> httpx.Client:
    """An ``httpx.Client`` for ``base_url`` that sends a Personal Access Token (Basic auth)."""
    return _client(base_url, pat.authorization, pat.region)


def customer_client(base_url: str, token: CustomerToken) -> httpx.Client:
    """An ``httpx.Client`` for the Customer Chat API (``<base_url>customer/action/<action>``)
    that sends the customer token, ``X-Region`` and the ``organization_id`` query parameter
    every Customer Chat API call needs."""
    params = {"organization_id": token.organization_id} if token.organization_id else {}
    return _client(f"{base_url}customer/action/", token.authorization, token.region, params)


def _client(
    base_url: str, authorization: str, region: str | None, params: dict[str, str] | None = None
) -> httpx.Client:
    """``Authorization``, and ``X-Region`` when the credential has a region prefix, as
    LiveChat's Go and JS SDKs send them."""
    import httpx  # noqa: PLC0415 - heavy; only tests that use an API client need it

    headers = {"Authorization": authorization}
    if region:
        headers["X-Region"] = region
    return httpx.Client(base_url=base_url, headers=headers, params=params, timeout=TIMEOUT)
