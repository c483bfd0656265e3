"""The Web API methods the plugin calls itself: the Configuration API's bot methods
(Configuration API v3.6 > Bots: Create Bot, Issue Bot Token, Delete Bot) and Deactivate Chat
(Agent Chat API and Customer Chat API v3.6), with the standard library's client as ``oauth``'s
calls are made: an HTTP mock a test has active never sees them, each has one deadline, and no
message raised here holds a secret or echoes an answer (of an error, its plain ``type`` only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import urlencode

from .._base import redact
from .._base.bearer import is_short_id, is_token_shaped
from .._base.errors import AccountsUnreachable, LiveChatTokenError
from .oauth import _Answer, _call, _parse_json

BOT_LIFETIME = 24 * 3600
"""Issue Bot Token: "The token is valid for 24 hours." Its answer says nothing else."""


class WebApiRefused(LiveChatTokenError):
    """The Web API refused a method (HTTP 4xx but 429); ``type`` is LiveChat's error type
    (``authentication``, ``authorization``, ``validation``, ``not_found``,
    ``chat_inactive``...)."""

    def __init__(self, message: str, kind: str | None, status: int) -> None:
        super().__init__(message)
        self.type = kind
        self.status = status


class Caller(NamedTuple):
    """Who calls: the ``Authorization`` header (an agent's bearer token or a PAT) and the
    region its token names (sent as ``X-Region``)."""

    authorization: str
    region: str | None


@dataclass(frozen=True)
class MadeBot:
    """What Create Bot answers: the bot's id and its secret."""

    bot_id: str
    secret: str = field(repr=False)


def create_bot(api_url: str, caller: Caller, name: str, owner_client_id: str) -> MadeBot:
    """Create Bot (scope ``agents-bot--my:rw``), owned by the app ``owner_client_id``
    (required with a PAT, and the same as the token's own with a bearer token)."""
    body = {"name": name, "owner_client_id": owner_client_id}
    data = _object(_action("configuration/action/create_bot", api_url, caller, body))
    bot_id, secret = data.get("id"), data.get("secret")
    if isinstance(secret, str):
        redact.remember(secret)  # a secret from the moment it is read
    if not is_short_id(bot_id) or not isinstance(secret, str) or not is_token_shaped(secret):
        raise AccountsUnreachable("Create Bot answered without a usable bot id and secret")
    return MadeBot(bot_id, secret)


def issue_bot_token(
    api_url: str, caller: Caller, made: MadeBot, client_id: str, organization_id: str
) -> str:
    """Issue Bot Token: a token valid ``BOT_LIFETIME`` seconds, which cannot be revoked."""
    body = {
        "bot_id": made.bot_id,
        "client_id": client_id,
        "bot_secret": made.secret,
        "organization_id": organization_id,
    }
    data = _object(_action("configuration/action/issue_bot_token", api_url, caller, body))
    token = data.get("token")
    if isinstance(token, str):
        redact.remember(token)
    if not isinstance(token, str) or not is_token_shaped(token):
        raise AccountsUnreachable("Issue Bot Token answered without a usable token")
    return token


def delete_bot(api_url: str, caller: Caller, bot_id: str) -> None:
    """Delete Bot (``200`` with no payload)."""
    _action("configuration/action/delete_bot", api_url, caller, {"id": bot_id})


def deactivate_chat(
    api_url: str, caller: Caller, chat_id: str, organization_id: str | None = None
) -> None:
    """Deactivate Chat: as an agent or a bot (Agent Chat API, ``ignore_requester_presence``:
    the requester need not be among the chat's users), or as a customer when
    ``organization_id`` is given (Customer Chat API, which needs it in the query)."""
    if organization_id is None:
        body = {"id": chat_id, "ignore_requester_presence": True}
        _action("agent/action/deactivate_chat", api_url, caller, body)
    else:
        query = urlencode({"organization_id": organization_id})
        path = f"customer/action/deactivate_chat?{query}"
        _action(path, api_url, caller, {"id": chat_id})


def _action(path: str, api_url: str, caller: Caller, body: dict[str, Any]) -> _Answer:
    headers = {"Authorization": caller.authorization}
    if caller.region:
        headers["X-Region"] = caller.region
    method = path.split("?", maxsplit=1)[0].rsplit("/", 1)[1]
    answer = _call("POST", api_url, f"/{path}", json_body=body, headers=headers)
    if 400 <= answer.status < 500 and answer.status != 429:
        kind = _error_type(answer.body)
        named = f": {kind}" if kind else ""
        message = f"LiveChat refused {method} (HTTP {answer.status}{named})"
        raise WebApiRefused(message, kind, answer.status)
    if not 200 <= answer.status < 300:
        raise answer.unreachable()
    return answer


def _object(answer: _Answer) -> dict[str, Any]:
    data = _parse_json(answer.body)
    if not isinstance(data, dict):
        raise AccountsUnreachable(f"{answer.url} did not answer with a JSON object")
    return data


def _error_type(body: bytes) -> str | None:
    """The Web API error's ``error.type`` when it is a plain name (never echoed otherwise)."""
    data = _parse_json(body)
    error = data.get("error") if isinstance(data, dict) else None
    kind = error.get("type") if isinstance(error, dict) else None
    if isinstance(kind, str) and kind.isascii() and kind.isidentifier() and len(kind) < 64:
        return kind
    return None
