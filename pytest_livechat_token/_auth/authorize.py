"""Both grants on paper: the authorization URL (implicit, or code with PKCE) and what an
answer, pasted or from the browser, means. Pure."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import unquote, urlencode, urlsplit

from .._base import redact
from .._base.bearer import MAX_LIFETIME, is_token_shaped
from .._base.errors import PasteRejected, printable
from .._base.settings import Wording

MAX_TRIES = 3
MAX_PASTE_LENGTH = 8192

_CODE = re.compile(r"[A-Za-z0-9._~+/=:-]{1,2048}")
_ERROR_KEYS = ("oauth_exception", "identity_exception", "exception_details", "error")

WHAT_TO_PASTE = (
    "Paste the whole address from the browser's address bar after logging in "
    "(it contains #access_token=...), or just the token (dal:... or dal%3A...)."
)

# What LiveChat's error pages mean and what fixes them, by `exception_details` or exception name.
_FIXES = {
    "client_id_not_found": (
        "LiveChat does not know the client id {client_id!r}. Copy the Client Id from your app's "
        "App Authorization block in the Developer Console into {client_flag}."
    ),
    "redirect_uri_not_set": (
        "The app has no redirect URI. In the Developer Console, open the app's App Authorization "
        "block, add {redirect_uri} as a Redirect URI, save, and try again."
    ),
    "invalid_redirect_uri": (
        "The redirect URI {redirect_uri} is not one the app allows. LiveChat's rule: the scheme "
        "and the host:port equal those of a Redirect URI in the app's App Authorization block, "
        "and its path contains that one's path (no query, fragment or '..'). Add it there, or "
        "set {redirect_flag} to one that is registered."
    ),
    "too_many_redirects": (
        "LiveChat allows 3 authorizations per 30 seconds for a client and user. "
        "Wait 30 seconds, then open the address again."
    ),
    "unauthorized_client": (
        "LiveChat does not let this client log in this way. The docs name these causes: a "
        "wrong or missing client id (check {client_flag}), a redirect URI that does not match "
        "one of the app's ({redirect_uri} was sent), or a bad client secret. Also make sure the "
        "app has an App Authorization block (a JavaScript app for the implicit grant; the code "
        "grant with PKCE works for it too) and is installed for your license (Private "
        "installation in the Developer Console)."
    ),
    "missing_grant": (
        "The app is missing rights you granted: you declined them, never gave them, or the "
        "app's scopes changed since. Log in again and accept the consent screen."
    ),
    "unsupported_response_type": (
        "LiveChat does not support the response type this login asked for (only token and "
        "code exist). A proxy or an old release may have changed the address: upgrade "
        "pytest-livechat-token and log in again."
    ),
    "server_error": (
        "LiveChat's accounts server failed on its side. Wait a minute, then log in again."
    ),
    "temporarily_unavailable": (
        "LiveChat's accounts server is overloaded or in maintenance. Wait a few minutes, then "
        "log in again."
    ),
    "identity:unauthorized": (
        "LiveChat does not know this login: the user is unknown, the password was wrong, or "
        "the consent is missing. Log in to LiveChat in that browser first, then open the "
        "address again and accept the consent screen."
    ),
    "identity:access_denied": (
        "LiveChat knows the user but refuses it (a banned user, or an account of another "
        "version). Log in as another user of your license."
    ),
    "identity:server_error": (
        "LiveChat could not tell who is logged in (a failure on its side). Wait a minute, "
        "then log in again."
    ),
    "identity:identity_lost": (
        "LiveChat lost track of who is logged in in that browser (the session ended or its "
        "cookies were cleared during the login). Log in to LiveChat in the browser again, then "
        "open the address again."
    ),
    "identity:credentials_login_disabled": (
        "This LiveChat user may not log in with an e-mail and a password (the organization "
        "requires another way, such as single sign-on). Log in to LiveChat in the browser the "
        "way your organization requires, then open the address again."
    ),
    "identity:invalid_request": (
        "LiveChat found the login request malformed. Open the address exactly as printed, "
        "not edited or cut short."
    ),
    "invalid_request": (
        "LiveChat found the login request malformed. The usual causes: the response type does "
        "not fit the app's type (a server-side app cannot use the implicit grant), or the "
        "redirect URI differs from the registered one by as little as a trailing slash "
        "({redirect_uri} was sent)."
    ),
    "access_denied": (
        "Access was denied: the login was declined, or the app is not installed for your license. "
        "Install it (Private installation in the Developer Console) and try again."
    ),
    "invalid_scope": (
        "The app asks for scopes your account cannot grant. Check the scopes in the app's "
        "App Authorization block."
    ),
}


@dataclass(frozen=True)
class Grant:
    """What an authorization answer carried. ``access_token`` is decoded (``dal:...``)."""

    access_token: str = field(repr=False)
    expires_in: int | None = None
    scope: str | None = None


def new_state() -> str:
    """A fresh anti-forgery ``state``."""
    return secrets.token_urlsafe(24)


def new_code_verifier() -> str:
    """A PKCE ``code_verifier``: 64 characters from ``[A-Za-z0-9-_]`` (43 to 128 are allowed)."""
    return secrets.token_urlsafe(48)


def code_challenge(verifier: str) -> str:
    """The S256 ``code_challenge`` of ``verifier``: base64url(sha256), without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_url(
    accounts_url: str,
    client_id: str,
    redirect_uri: str,
    state: str,
    *,
    code_verifier: str | None = None,
    consent: bool = False,
) -> str:
    """The address that starts the grant at the accounts server: the implicit grant, or, given
    a ``code_verifier``, the authorization code grant with PKCE (S256). ``consent`` adds
    ``prompt=consent``: the consent screen again, for scopes added to the app since."""
    query = {
        "response_type": "token" if code_verifier is None else "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "state": state,
    }
    if code_verifier is not None:
        query["code_challenge"] = code_challenge(code_verifier)
        query["code_challenge_method"] = "S256"
    if consent:
        query["prompt"] = "consent"
    return f"{accounts_url.rstrip('/')}/?{urlencode(query)}"


def explain_error(
    params: dict[str, str], *, client_id: str, redirect_uri: str, wording: Wording | None = None
) -> str:
    """A plain explanation, with a fix, of a LiveChat error page's parameters."""
    words = wording or Wording()
    details = params.get("exception_details", "")
    exception = (
        params.get("oauth_exception") or params.get("identity_exception") or params.get("error", "")
    )
    identity = params.get("identity_exception") if not params.get("oauth_exception") else None
    template = (
        _FIXES.get(details)
        or (_FIXES.get(f"identity:{identity}") if identity else None)
        or _FIXES.get(exception)
    )
    named = ", ".join(printable(part, 80) for part in (exception, details) if part) or "an error"
    head = f"LiveChat answered with an error page ({named})."
    if template is None:
        return (
            f"{head} Check the app's App Authorization block in the Developer Console "
            "(client id, redirect URI, installation), then try again."
        )
    fix = template.format(
        client_id=printable(client_id, 80),
        redirect_uri=printable(redirect_uri, 200),
        client_flag=words.flag("client_id"),
        redirect_flag=words.flag("redirect_uri"),
    )
    return f"{head} {fix}"


def _split_params(piece: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in piece.split("&"):
        name, _, value = pair.partition("=")
        if name:
            params.setdefault(unquote(name), unquote(value))
    return params


def _params_of(text: str) -> dict[str, str]:
    try:
        parts = urlsplit(text)
    except ValueError:
        raise PasteRejected(f"That is not an address we can read. {WHAT_TO_PASTE}") from None
    pieces = [parts.fragment, parts.query]
    if not parts.scheme and not parts.netloc and "=" in parts.path:
        pieces.append(parts.path)
    params: dict[str, str] = {}
    for piece in pieces:
        for name, value in _split_params(piece).items():
            params.setdefault(name, value)
    return params


def _expires_in(value: str | None) -> int | None:
    """A lifetime in seconds, or None for anything else (``²`` is a digit to ``isdigit``)."""
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 9:
        return None
    seconds = int(value)
    return seconds if seconds <= MAX_LIFETIME else None


def answer_state(text: str) -> str | None:
    """The ``state`` an answer carries, or None (also for anything unreadable)."""
    if len(text) > MAX_PASTE_LENGTH:
        return None
    try:
        return _params_of(text.strip()).get("state")
    except PasteRejected:
        return None


def parse_paste(
    text: str,
    *,
    expected_state: str | None,
    client_id: str = "",
    redirect_uri: str = "",
    require_state: bool = False,
    wording: Wording | None = None,
) -> Grant:
    """Read what a person pasted: a redirect address, its fragment, or a bare token.

    With ``require_state`` (an answer that did not come from the person), only an answer
    that carries the expected state is taken. Raises ``PasteRejected`` with a message that
    says what was expected.
    """
    text = text.strip().strip("<>\"'").strip()
    if not text:
        raise PasteRejected(f"Nothing was pasted. {WHAT_TO_PASTE}")
    if len(text) > MAX_PASTE_LENGTH:
        raise PasteRejected(f"That is far too long for a LiveChat address. {WHAT_TO_PASTE}")
    if not text.isprintable() or any(char.isspace() for char in text):
        raise PasteRejected(
            "That has spaces or control characters in it, so it is not one address. "
            + WHAT_TO_PASTE
        )
    params = _params_of(text)
    _remember_shaped(params.get("access_token"), params.get("code"))
    if any(key in params for key in _ERROR_KEYS):
        raise PasteRejected(
            explain_error(params, client_id=client_id, redirect_uri=redirect_uri, wording=wording)
        )
    if "access_token" in params and not (require_state and "state" not in params):
        return _grant_from(params, expected_state)
    if require_state:
        raise PasteRejected("That answer carries no state of this login, so it is not taken.")
    if "code" in params:
        raise PasteRejected(
            "That address carries an authorization code, not a token: it belongs to another "
            f"kind of login. Open the address printed above. {WHAT_TO_PASTE}"
        )
    if params or "://" in text:
        raise PasteRejected(
            "That address has no access_token in it. After you log in, LiveChat sends the "
            f"browser to the redirect URI with #access_token=... at the end. {WHAT_TO_PASTE}"
        )
    token = unquote(text)
    if not is_token_shaped(token):
        raise PasteRejected(f"That does not look like a LiveChat token. {WHAT_TO_PASTE}")
    redact.remember(token)
    return Grant(access_token=token)


def _remember_shaped(*values: str | None) -> None:
    """What an answer carries that could be a credential is a secret from the moment it is
    read (a Ctrl-C while it is checked shows the frames that hold it, under --full-trace)."""
    redact.remember(*(value for value in values if value and is_token_shaped(value)))


def _grant_from(params: dict[str, str], expected_state: str | None) -> Grant:
    state = params.get("state")
    if state is not None and expected_state is not None and state != expected_state:
        raise PasteRejected(
            "This address belongs to another login attempt (its state does not match). "
            "Open the address printed above, log in, and paste the address you land on."
        )
    token_type = params.get("token_type", "Bearer")
    if token_type.lower() != "bearer":
        raise PasteRejected(
            f"That address carries a {token_type!r} token; a Bearer token is needed. "
            + WHAT_TO_PASTE
        )
    token = params["access_token"]
    if not is_token_shaped(token):
        raise PasteRejected(
            f"The access_token in that address is cut short or damaged. {WHAT_TO_PASTE}"
        )
    return Grant(
        access_token=token,
        expires_in=_expires_in(params.get("expires_in")),
        scope=params.get("scope") or None,
    )


def parse_code_answer(
    text: str,
    *,
    expected_state: str,
    client_id: str = "",
    redirect_uri: str = "",
    wording: Wording | None = None,
) -> str:
    """Read the answer of an authorization code login: ``redirect_uri?code=...&state=...``.

    Returns the code. The answer must carry this login's state (a bare code cannot be checked).
    """
    text = text.strip().strip("<>\"'").strip()
    if not text:
        raise PasteRejected(f"Nothing was pasted. {WHAT_TO_PASTE_CODE}")
    if len(text) > MAX_PASTE_LENGTH or not text.isprintable() or any(c.isspace() for c in text):
        raise PasteRejected(f"That is not one address. {WHAT_TO_PASTE_CODE}")
    params = _params_of(text)
    if any(key in params for key in _ERROR_KEYS):
        raise PasteRejected(
            explain_error(params, client_id=client_id, redirect_uri=redirect_uri, wording=wording)
        )
    code = params.get("code")
    _remember_shaped(code, params.get("access_token"))
    if not code:
        kind = " It carries a token of the implicit grant." if "access_token" in params else ""
        raise PasteRejected(f"That address has no code in it.{kind} {WHAT_TO_PASTE_CODE}")
    if params.get("state") != expected_state:
        raise PasteRejected(
            "This address belongs to another login attempt (its state is missing or does not "
            "match). Open the address printed above, log in, and paste the address you land on."
        )
    if not _CODE.fullmatch(code):
        raise PasteRejected(f"The code in that address is damaged. {WHAT_TO_PASTE_CODE}")
    return code


WHAT_TO_PASTE_CODE = (
    "Paste the whole address from the browser's address bar after logging in "
    "(it contains ?code=...&state=...)."
)
