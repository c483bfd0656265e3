"""The ready LiveChat API clients, sync and async. httpx is imported only when one is made."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._base.bearer import BearerToken, CustomerToken

if TYPE_CHECKING:
    import httpx

    from .._base.pat import PersonalAccessToken

    Credential = BearerToken | CustomerToken | PersonalAccessToken

TIMEOUT = 30.0


def api_client(base_url: str, credential: BearerToken | PersonalAccessToken) -> httpx.Client:
    """An ``httpx.Client`` for ``base_url`` that sends the bearer token as LiveChat's SDKs do,
    or a Personal Access Token (Basic auth)."""
    return httpx_client(**_settings(base_url, credential))


def customer_client(base_url: str, token: CustomerToken) -> httpx.Client:
    """An ``httpx.Client`` for the Customer Chat API (``<base_url>customer/action/<action>``)
    that sends the customer token, ``X-Region`` and the ``organization_id`` query parameter
    every Customer Chat API call needs."""
    return httpx_client(**_settings(base_url, token))


def async_api_client(
    base_url: str, credential: BearerToken | PersonalAccessToken
) -> httpx.AsyncClient:
    """``api_client``'s async twin. It keeps no connection between requests, so it holds
    nothing of an event loop: it works under any loop (pytest-asyncio's or anyio's, whatever
    their scope) and needs no closing in one."""
    return async_httpx_client(**_settings(base_url, credential))


def async_customer_client(base_url: str, token: CustomerToken) -> httpx.AsyncClient:
    """``customer_client``'s async twin (see ``async_api_client``)."""
    return async_httpx_client(**_settings(base_url, token))


def _settings(base_url: str, credential: Credential) -> dict[str, Any]:
    """Base URL, headers and query of a client: ``Authorization``, and ``X-Region`` when the
    credential has a region prefix, as LiveChat's Go and JS SDKs send them; a customer token
    goes to the Customer Chat API with its ``organization_id``."""
    headers = {"Authorization": credential.authorization}
    if credential.region:
        headers["X-Region"] = credential.region
    params: dict[str, str] = {}
    if isinstance(credential, CustomerToken):
        base_url = f"{base_url}customer/action/"
        if credential.organization_id:
            params["organization_id"] = credential.organization_id
    return {"base_url": base_url, "headers": headers, "params": params, "timeout": TIMEOUT}


def httpx_client(**settings: Any) -> httpx.Client:
    import httpx  # heavy; only tests that use an API client need it

    from .transport import LiveChatTransport

    return httpx.Client(transport=LiveChatTransport(), **settings)


def async_httpx_client(**settings: Any) -> httpx.AsyncClient:
    import httpx

    from .transport import AsyncLiveChatTransport

    return httpx.AsyncClient(transport=AsyncLiveChatTransport(), **settings)
