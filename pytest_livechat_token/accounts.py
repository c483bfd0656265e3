"""Talking to the LiveChat accounts server. httpx is imported here, and only when a call is made."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import AccountsUnreachable, GrantRefused, TokenRejected

TIMEOUT = 10.0


@dataclass(frozen=True)
class TokenInfo:
    """What ``GET /v2/info`` says of a token (never the token itself)."""

    client_id: str | None
    expires_in: int | None
    scope: str | None
    account_id: str | None
    organization_id: str | None


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def token_info(accounts_url: str, token: str, *, timeout: float = TIMEOUT) -> TokenInfo:
    """Ask the accounts server about ``token``.

    Raises ``TokenRejected`` when the server refuses it (4xx), ``AccountsUnreachable`` when it
    cannot be asked or answers nonsense. No message holds the token.
    """
    import httpx  # noqa: PLC0415 - heavy; only a login needs it

    url = f"{accounts_url.rstrip('/')}/v2/info"
    try:
        response = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout)
    except httpx.HTTPError as error:
        raise AccountsUnreachable(f"could not reach {url} ({type(error).__name__})") from None
    if 400 <= response.status_code < 500:
        raise TokenRejected(
            f"the accounts server refused this token (HTTP {response.status_code}): it is "
            "expired, revoked, or was cut short when copied."
        )
    if response.status_code != 200:
        raise AccountsUnreachable(f"{url} answered HTTP {response.status_code}")
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise AccountsUnreachable(f"{url} did not answer with a JSON object")
    expires_in = data.get("expires_in")
    return TokenInfo(
        client_id=_text(data, "client_id"),
        expires_in=expires_in if isinstance(expires_in, int) and expires_in >= 0 else None,
        scope=_text(data, "scope"),
        account_id=_text(data, "account_id"),
        organization_id=_text(data, "organization_id"),
    )


def revoke(accounts_url: str, token: str, *, timeout: float = TIMEOUT) -> None:
    """Revoke ``token`` at the accounts server (``DELETE /v2/token``).

    Raises ``TokenRejected`` when the server says the token is not valid (4xx: nothing left to
    revoke), ``AccountsUnreachable`` when it cannot be asked.
    """
    import httpx  # noqa: PLC0415 - heavy; only a logout needs it

    url = f"{accounts_url.rstrip('/')}/v2/token"
    try:
        response = httpx.delete(url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout)
    except httpx.HTTPError as error:
        raise AccountsUnreachable(f"could not reach {url} ({type(error).__name__})") from None
    if 400 <= response.status_code < 500:
        raise TokenRejected(
            f"the accounts server no longer knows this token (HTTP {response.status_code})"
        )
    if not 200 <= response.status_code < 300:
        raise AccountsUnreachable(f"{url} answered HTTP {response.status_code}")


@dataclass(frozen=True)
class TokenResponse:
    """What ``POST /v2/token`` answers: a new access token and its refresh token."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_in: int | None
    scope: str | None


def exchange_code(
    accounts_url: str, client_id: str, redirect_uri: str, code: str, code_verifier: str
) -> TokenResponse:
    """Trade an authorization code (and its PKCE verifier) for a token pair."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
    }
    return _token_request(accounts_url, form)


def refresh_grant(accounts_url: str, client_id: str, refresh_token: str) -> TokenResponse:
    """Trade a refresh token for a new pair (the old refresh token stops working)."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    return _token_request(accounts_url, form)


def _token_request(accounts_url: str, form: dict[str, str]) -> TokenResponse:
    import httpx  # noqa: PLC0415 - heavy; only a login or a renewal needs it

    url = f"{accounts_url.rstrip('/')}/v2/token"
    try:
        response = httpx.post(url, data=form, timeout=TIMEOUT)
    except httpx.HTTPError as error:
        raise AccountsUnreachable(f"could not reach {url} ({type(error).__name__})") from None
    try:
        data = response.json()
    except ValueError:
        data = None
    if 400 <= response.status_code < 500:
        reason = data.get("error") if isinstance(data, dict) else None
        named = f": {reason}" if isinstance(reason, str) and reason.isidentifier() else ""
        raise GrantRefused(f"the accounts server refused it (HTTP {response.status_code}{named})")
    if response.status_code != 200 or not isinstance(data, dict):
        raise AccountsUnreachable(f"{url} answered HTTP {response.status_code} without a token")
    access, refresh = data.get("access_token"), data.get("refresh_token")
    if not isinstance(access, str) or not access:
        raise AccountsUnreachable(f"{url} answered without an access_token")
    expires_in = data.get("expires_in")
    return TokenResponse(
        access_token=access,
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        expires_in=expires_in if isinstance(expires_in, int) and expires_in >= 0 else None,
        scope=_text(data, "scope"),
    )
