"""Talking to the LiveChat accounts server. httpx is imported here, and only when a call is made.

No message raised here holds a token: tokens travel in headers and bodies, never in URLs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .bearer import expires_at_from
from .errors import AccountsUnreachable, GrantRefused, TokenRejected

if TYPE_CHECKING:
    import httpx

TIMEOUT = 10.0


@dataclass(frozen=True)
class TokenInfo:
    """What ``GET /v2/info`` says of a token (never the token itself)."""

    client_id: str | None
    expires_in: int | None
    scope: str | None
    account_id: str | None
    organization_id: str | None


@dataclass(frozen=True)
class TokenResponse:
    """What ``POST /v2/token`` answers: a new access token and its refresh token."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_in: int | None
    scope: str | None

    def expires_at(self, now: datetime) -> datetime:
        """When the access token expires (LiveChat's 8 hours when the answer does not say)."""
        return expires_at_from(self.expires_in if self.expires_in is not None else 28800, now)


def token_info(accounts_url: str, token: str) -> TokenInfo:
    """Ask the accounts server about ``token``.

    Raises ``TokenRejected`` when the server refuses it (4xx), ``AccountsUnreachable`` when it
    cannot be asked or answers nonsense.
    """
    response = _call("GET", accounts_url, "/v2/info", bearer=token)
    if 400 <= response.status_code < 500:
        raise TokenRejected(
            f"the accounts server refused this token (HTTP {response.status_code}): it is "
            "expired, revoked, or was cut short when copied."
        )
    data = _json_object(response)
    return TokenInfo(
        client_id=_text(data, "client_id"),
        expires_in=_seconds(data),
        scope=_text(data, "scope"),
        account_id=_text(data, "account_id"),
        organization_id=_text(data, "organization_id"),
    )


def revoke(accounts_url: str, token: str) -> None:
    """Revoke ``token`` (and its refresh token) at the accounts server (``DELETE /v2/token``).

    Raises ``TokenRejected`` when the server says the token is not valid (4xx: nothing left to
    revoke), ``AccountsUnreachable`` when it cannot be asked.
    """
    response = _call("DELETE", accounts_url, "/v2/token", bearer=token)
    if 400 <= response.status_code < 500:
        raise TokenRejected(
            f"the accounts server no longer knows this token (HTTP {response.status_code})"
        )
    if not 200 <= response.status_code < 300:
        raise AccountsUnreachable(f"{response.url} answered HTTP {response.status_code}")


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
    response = _call("POST", accounts_url, "/v2/token", form=form)
    if 400 <= response.status_code < 500:
        reason = _error_name(response)
        named = f": {reason}" if reason else ""
        raise GrantRefused(f"the accounts server refused it (HTTP {response.status_code}{named})")
    data = _json_object(response)
    access, refresh = _text(data, "access_token"), _text(data, "refresh_token")
    if access is None:
        raise AccountsUnreachable(f"{response.url} answered without an access_token")
    return TokenResponse(access, refresh, _seconds(data), _text(data, "scope"))


def _call(
    method: str,
    accounts_url: str,
    path: str,
    *,
    bearer: str | None = None,
    form: dict[str, str] | None = None,
) -> httpx.Response:
    """One request, with a bounded wait; a failure to get an answer is ``AccountsUnreachable``."""
    import httpx  # noqa: PLC0415 - heavy; only a login, a renewal or a logout needs it

    url = f"{accounts_url.rstrip('/')}{path}"
    headers = {"Authorization": f"Bearer {bearer}"} if bearer is not None else {}
    try:
        return httpx.request(method, url, headers=headers, data=form, timeout=TIMEOUT)
    except httpx.HTTPError as error:
        raise AccountsUnreachable(f"could not reach {url} ({type(error).__name__})") from None


def _json_object(response: httpx.Response) -> dict[str, Any]:
    if response.status_code != 200:
        raise AccountsUnreachable(f"{response.url} answered HTTP {response.status_code}")
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise AccountsUnreachable(f"{response.url} did not answer with a JSON object")
    return data


def _error_name(response: httpx.Response) -> str | None:
    """The OAuth ``error`` of a refusal, when it is a plain name (never echo a body)."""
    try:
        data = response.json()
    except ValueError:
        return None
    reason = data.get("error") if isinstance(data, dict) else None
    return reason if isinstance(reason, str) and reason.isidentifier() else None


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def _seconds(data: dict[str, Any]) -> int | None:
    value = data.get("expires_in")
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
