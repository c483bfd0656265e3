"""The ready LiveChat API clients, sync and async. httpx is imported only when one is made."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .._base.bearer import BearerToken, BotToken, CustomerToken

if TYPE_CHECKING:
    import httpx

    from .._base.pat import PersonalAccessToken
    from .transport import OnChat

    Credential = BearerToken | CustomerToken | BotToken | PersonalAccessToken

TIMEOUT = 30.0


def api_client(
    base_url: str,
    credential: BearerToken | BotToken | PersonalAccessToken,
    on_chat: OnChat | None = None,
) -> httpx.Client:
    """An ``httpx.Client`` for ``base_url`` that sends the bearer token (an agent's or a
    bot's) as LiveChat's SDKs do, or a Personal Access Token (Basic auth); each chat it
    starts, resumes or deactivates is told to ``on_chat``."""
    return httpx_client(on_chat, **_settings(base_url, credential))


def customer_client(
    base_url: str, token: CustomerToken, on_chat: OnChat | None = None
) -> httpx.Client:
    """An ``httpx.Client`` for the Customer Chat API (``<base_url>customer/action/<action>``)
    that sends the customer token, ``X-Region`` and the ``organization_id`` query parameter
    every Customer Chat API call needs."""
    return httpx_client(on_chat, **_settings(base_url, token))


@contextmanager
def async_api_client(
    base_url: str,
    credential: BearerToken | PersonalAccessToken,
    on_chat: OnChat | None = None,
) -> Iterator[httpx.AsyncClient]:
    """``api_client``'s async twin, its connections closed when the ``with`` block ends. It
    holds nothing of an event loop (see ``transport.AsyncLiveChatTransport``): it works under
    any loop (pytest-asyncio's or anyio's, whatever their scope), reuses its connections
    across them, and is closed without one."""
    with async_httpx_client(on_chat, **_settings(base_url, credential)) as client:
        yield client


@contextmanager
def async_customer_client(
    base_url: str, token: CustomerToken, on_chat: OnChat | None = None
) -> Iterator[httpx.AsyncClient]:
    """``customer_client``'s async twin (see ``async_api_client``)."""
    with async_httpx_client(on_chat, **_settings(base_url, token)) as client:
        yield client


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


def httpx_client(on_chat: OnChat | None = None, **settings: Any) -> httpx.Client:
    import httpx  # heavy; only tests that use an API client need it

    from .transport import LiveChatTransport

    return httpx.Client(transport=LiveChatTransport(on_chat=on_chat), **settings)


@contextmanager
def async_httpx_client(
    on_chat: OnChat | None = None, **settings: Any
) -> Iterator[httpx.AsyncClient]:
    import httpx

    from .transport import AsyncLiveChatTransport

    transport = AsyncLiveChatTransport(on_chat=on_chat)
    try:
        yield httpx.AsyncClient(transport=transport, **settings)
    finally:
        transport.close()
