"""Talking to the LiveChat accounts server (its OAuth endpoints: `/v2/info`, `/v2/token`,
`/v2/customer/token`), with the standard library's HTTP client, imported when a call is made:
an HTTP mock a test has active (pytest-httpx, respx) never sees the plugin's own calls.

Each call has one deadline for the whole exchange (a server that trickles its answer cannot
stretch it), reads at most ``MAX_ANSWER`` bytes, and takes nothing from the answer unchecked.
No message raised here holds a token or echoes an answer: tokens travel in headers and bodies,
never in URLs, and of an error answer only its plain error name is shown.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .._base import redact
from .._base.bearer import MAX_LIFETIME, expires_at_from, is_short_id, is_token_shaped
from .._base.errors import (
    AccountsUnreachable,
    ClientRefused,
    GrantRefused,
    MissingScope,
    TokenRejected,
    printable,
)
from .._base.settings import CLIENT_SECRET_ENV

TIMEOUT = 10.0
_GRANT_REFUSALS = frozenset(
    {"invalid_grant", "unauthorized_client", "invalid_client", "missing_grant"}
)
"""Errors that mean the code or refresh token is no good, whatever the HTTP status
(Authorization > OAuth 2.1, Errors; Troubleshooting: ``unauthorized_client`` covers "refresh_token
not found"). With a client secret sent, the client refusals are ``ClientRefused`` instead."""
MAX_ANSWER = 64 * 1024
MAX_RETRY_AFTER = 3600.0
DEFAULT_LIFETIME = 28800


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
    account_id: str | None = None
    organization_id: str | None = None

    def expires_at(self, now: datetime) -> datetime:
        """When the access token expires (LiveChat's 8 hours when the answer does not say)."""
        return _expiry(self.expires_in, now)


def token_info(accounts_url: str, token: str) -> TokenInfo:
    """Ask the accounts server about ``token`` (``GET /v2/info``).

    Raises ``TokenRejected`` when the server refuses it (any 4xx but 429: the 422 the Global
    Accounts API documents, 401, 403, 404...), ``AccountsUnreachable`` when it cannot be asked,
    is busy (429, 5xx), or answers nonsense.
    """
    answer = _call("GET", accounts_url, "/v2/info", bearer=token)
    if 400 <= answer.status < 500 and answer.status != 429:
        raise TokenRejected(
            f"the accounts server refused this token (HTTP {answer.status}): it is "
            "expired, revoked, or was cut short when copied."
        )
    data = answer.json_object()
    client_id = _text(data, "client_id")
    return TokenInfo(
        client_id=printable(client_id, 80) if client_id else None,
        expires_in=_seconds(data),
        scope=_text(data, "scope"),
        account_id=_ident(data, "account_id"),
        organization_id=_ident(data, "organization_id"),
    )


def revoke(accounts_url: str, token: str) -> None:
    """Revoke ``token`` at the accounts server (``DELETE /v2/token``, the token in the header).

    Revoking an access token revokes its refresh token too; a refresh token can be revoked on
    its own. Raises ``TokenRejected`` when the server no longer knows the token (401, 404:
    nothing left to revoke), ``AccountsUnreachable`` when it cannot be asked.
    """
    _revoke_at(accounts_url, "/v2/token", token)


def revoke_customer(accounts_url: str, token: str) -> None:
    """Revoke a customer's access token (``DELETE /v2/customer/token``, the customer accounts
    API); raises as ``revoke`` does."""
    _revoke_at(accounts_url, "/v2/customer/token", token)


def _revoke_at(accounts_url: str, path: str, token: str) -> None:
    answer = _call("DELETE", accounts_url, path, bearer=token)
    if answer.status in (400, 401, 403, 404):
        raise TokenRejected(
            f"the accounts server no longer knows this token (HTTP {answer.status})"
        )
    if not 200 <= answer.status < 300:
        raise answer.unreachable()


def exchange_code(
    accounts_url: str,
    client_id: str,
    redirect_uri: str,
    code: str,
    code_verifier: str,
    *,
    client_secret: str | None = None,
) -> TokenResponse:
    """Trade an authorization code (and its PKCE verifier) for a token pair; a server-side
    app sends its ``client_secret`` too."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
    }
    return _token_request(accounts_url, form, client_secret)


@dataclass(frozen=True)
class CustomerTokenResponse:
    """What ``POST /v2/customer/token`` answers: a customer's access token and its id."""

    access_token: str = field(repr=False)
    entity_id: str
    expires_in: int | None
    organization_id: str | None

    def expires_at(self, now: datetime) -> datetime:
        """When the token expires (the documented 28800 s when the answer does not say)."""
        return _expiry(self.expires_in, now)


def customer_token(
    accounts_url: str, agent_token: str, client_id: str, entity_id: str | None = None
) -> CustomerTokenResponse:
    """A customer access token by the agent token grant (``POST /v2/customer/token`` with the
    agent's token in the header): a new customer, or a new token for ``entity_id``.

    Raises ``MissingScope`` when the server says the agent token may not (403, or an
    ``invalid_scope`` error: it needs ``customers:own``), ``GrantRefused`` for another refusal,
    ``AccountsUnreachable`` when it cannot be asked, is busy or answers nonsense.
    """
    body: dict[str, str] = {
        "grant_type": "agent_token",
        "client_id": client_id,
        "response_type": "token",
    }
    if entity_id is not None:
        body["entity_id"] = entity_id
    answer = _call("POST", accounts_url, "/v2/customer/token", bearer=agent_token, json_body=body)
    if (refusal := answer.refusal()) is not None:
        reason, refused = refusal
        if answer.status == 403 or reason in ("invalid_scope", "insufficient_scope"):
            raise MissingScope(refused)
        raise GrantRefused(refused)
    data = answer.json_object()
    access, customer = _text(data, "access_token"), _ident(data, "entity_id")
    redact.remember(access)  # a secret from the moment it is read
    if access is None or not is_token_shaped(access) or customer is None:
        raise AccountsUnreachable(f"{answer.url} answered without a usable customer token")
    return CustomerTokenResponse(access, customer, _seconds(data), _ident(data, "organization_id"))


def refresh_grant(
    accounts_url: str, client_id: str, refresh_token: str, client_secret: str | None = None
) -> TokenResponse:
    """Trade a refresh token for a new pair (a web app's old refresh token stops working; a
    server-side app sends its ``client_secret``, and its refresh token does not rotate)."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    return _token_request(accounts_url, form, client_secret)


def _token_request(
    accounts_url: str, form: dict[str, str], client_secret: str | None = None
) -> TokenResponse:
    """``POST /v2/token``. The grant is refused (``GrantRefused``) only when the answer says
    so: ``invalid_grant``, or 401/403. A 429 (``temporarily_unavailable``), a 5xx or another
    refusal is ``AccountsUnreachable``, with ``retry_after`` when the server gave one."""
    if client_secret is not None:
        form = {**form, "client_secret": client_secret}
    answer = _call("POST", accounts_url, "/v2/token", form=form)
    if (refusal := answer.refusal()) is not None:
        reason, refused = refusal
        if (
            client_secret is not None
            and reason == "unauthorized_client"
            and form.get("grant_type") == "refresh_token"
            and answer.names_the_refresh_token()
        ):
            # Troubleshooting: a server-side app's refresh token LiveChat no longer has
            # ("refresh token not found") is refused with the name a wrong secret has.
            raise GrantRefused(
                f"{refused}: LiveChat no longer has this refresh token (revoked, pushed out by "
                "the 25-token limit, or its user removed)"
            )
        if client_secret is not None and reason in ("invalid_client", "unauthorized_client"):
            raise ClientRefused(
                f"{refused}: the client id or its secret was not accepted. Check "
                f"{CLIENT_SECRET_ENV} and the client id (a server-side app's secret is in the "
                "Developer Console, App Authorization)"
            )
        if reason in _GRANT_REFUSALS or answer.status in (401, 403):
            raise GrantRefused(refused)
        raise AccountsUnreachable(refused)
    data = answer.json_object()
    access, refresh = _text(data, "access_token"), _text(data, "refresh_token")
    redact.remember(access, refresh)  # secrets from the moment they are read
    if access is None or not is_token_shaped(access):
        raise AccountsUnreachable(f"{answer.url} answered without a usable access_token")
    if refresh is not None and not is_token_shaped(refresh):
        raise AccountsUnreachable(f"{answer.url} answered with a damaged refresh_token")
    return TokenResponse(
        access,
        refresh,
        _seconds(data),
        _text(data, "scope"),
        _ident(data, "account_id"),
        _ident(data, "organization_id"),
    )


@dataclass(frozen=True)
class _Answer:
    """What came back: the status, at most ``MAX_ANSWER`` bytes of body, ``Retry-After``."""

    url: str
    status: int
    body: bytes = field(repr=False)
    retry_after: str | None

    def unreachable(self) -> AccountsUnreachable:
        name = self.error_name()
        named = f": {name}" if name else ""
        error = AccountsUnreachable(f"{self.url} answered HTTP {self.status}{named}")
        error.retry_after = _retry_after(self.retry_after)
        return error

    def json_object(self) -> dict[str, Any]:
        if self.status != 200:
            raise self.unreachable()
        data = _parse_json(self.body)
        if not isinstance(data, dict):
            raise AccountsUnreachable(f"{self.url} did not answer with a JSON object")
        return data

    def refusal(self) -> tuple[str | None, str] | None:
        """For a 4xx answer but 429 (the request itself refused): its error name and a line
        that says so; None for any other answer."""
        if not 400 <= self.status < 500 or self.status == 429:
            return None
        name = self.error_name()
        named = f": {name}" if name else ""
        return name, f"the accounts server refused it (HTTP {self.status}{named})"

    def names_the_refresh_token(self) -> bool:
        """Whether the refusal's ``error_description`` or ``exception_details`` says the
        refresh token is not found (read, never echoed)."""
        data = _parse_json(self.body)
        if not isinstance(data, dict):
            return False
        said = " ".join(
            value.lower()
            for key in ("error_description", "exception_details")
            if isinstance(value := data.get(key), str) and len(value) < 256
        ).replace("_", " ")
        return "refresh token" in said and ("not found" in said or "invalid" in said)

    def error_name(self) -> str | None:
        """The OAuth error name of a refusal (``error``, or the older ``oauth_exception``),
        when it is a plain name: an answer's text is never echoed."""
        data = _parse_json(self.body)
        if not isinstance(data, dict):
            return None
        for key in ("error", "oauth_exception"):
            name = data.get(key)
            if isinstance(name, str) and name.isascii() and name.isidentifier() and len(name) < 64:
                return name
        return None


def _call(
    method: str,
    accounts_url: str,
    path: str,
    *,
    bearer: str | None = None,
    form: dict[str, str] | None = None,
    json_body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> _Answer:
    """One request, all of it within ``TIMEOUT`` seconds; no answer is ``AccountsUnreachable``.
    ``headers`` (an ``Authorization`` of another scheme, ``X-Region``) go with it.

    The request runs in a daemon thread that the caller stops waiting for at the deadline:
    a client's timeouts bound each read, not the whole answer.
    """
    url = f"{accounts_url.rstrip('/')}{path}"
    sent = dict(headers or {})
    if bearer is not None:
        sent["Authorization"] = f"Bearer {bearer}"
    outcome: list[_Answer | BaseException] = []
    worker = threading.Thread(
        target=_request_into,
        args=(outcome, method, url, sent, {"data": form, "json": json_body}),
        name="livechat-accounts",
        daemon=True,
    )
    worker.start()
    worker.join(TIMEOUT)
    if not outcome:
        raise AccountsUnreachable(f"{url} gave no whole answer within {TIMEOUT:.0f} s")
    result = outcome[0]
    if isinstance(result, BaseException):
        reason = getattr(result, "reason", None)  # urllib's URLError wraps the socket's error
        why = type(reason if isinstance(reason, BaseException) else result).__name__
        raise AccountsUnreachable(f"could not reach {url} ({why})")
    return result


def _request_into(
    outcome: list[_Answer | BaseException],
    method: str,
    url: str,
    headers: dict[str, str],
    payload: dict[str, dict[str, Any] | None],
) -> None:
    """One request with the standard library's client (``urllib.request``: it honours the
    proxy variables as httpx does), not httpx: an HTTP mock a test has active (pytest-httpx,
    respx) never sees, fails or answers the plugin's own calls. No redirect is followed."""
    import urllib.error  # only a request needs these
    import urllib.request
    from urllib.parse import urlencode

    body: bytes | None = None
    if payload["data"] is not None:
        body = urlencode(payload["data"]).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif payload["json"] is not None:
        body = json.dumps(payload["json"]).encode()
        headers["Content-Type"] = "application/json"

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None  # the 3xx itself is the answer

    # http(s) only: settings.resolve refuses any other scheme for the accounts URL.
    request = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310
    opener = urllib.request.build_opener(NoRedirect)
    try:
        try:
            response = opener.open(request, timeout=TIMEOUT)
        except urllib.error.HTTPError as error:  # a 4xx or 5xx: an answer all the same
            response = error
        with response:
            data = response.read(MAX_ANSWER + 1)
            if len(data) > MAX_ANSWER:
                raise _TooLarge
            status = response.status or 0
            outcome.append(_Answer(url, status, data, response.headers.get("Retry-After")))
    except Exception as error:  # handed to the caller, who words it
        outcome.append(error)


class _TooLarge(Exception):
    """An answer longer than ``MAX_ANSWER``."""


def _parse_json(body: bytes) -> object:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # also UnicodeDecodeError
        return None


def _retry_after(value: str | None) -> float | None:
    if value is None or not value.strip().isascii() or not value.strip().isdigit():
        return None
    return min(float(value.strip()), MAX_RETRY_AFTER)


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value and len(value) <= 4096 else None


def _ident(data: dict[str, Any], key: str) -> str | None:
    """An id (``account_id``, ``organization_id``): short and printable, else unknown."""
    value = data.get(key)
    return value if is_short_id(value) else None


def _expiry(expires_in: int | None, now: datetime) -> datetime:
    """When a token issued at ``now`` expires: LiveChat's 8 hours when the answer says nothing."""
    return expires_at_from(expires_in if expires_in is not None else DEFAULT_LIFETIME, now)


def _seconds(data: dict[str, Any]) -> int | None:
    value = data.get("expires_in")
    valid = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_LIFETIME
    return value if valid else None
