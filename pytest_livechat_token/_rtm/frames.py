"""The RTM protocol on paper (Messaging > Agent Chat API and Customer Chat API > RTM reference):
the address, the frames, what an answer means, and the mailbox that keeps answers and pushes
until a test asks for them. Pure: no socket here (``rtm`` has it).

Every frame is JSON: a request ``{"action", "payload", "request_id"}``; a ``response`` with
the same ``request_id``, ``success`` and ``payload`` (``payload.error.type`` and ``message``
when it failed); a ``push`` with its ``action``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Literal, NamedTuple
from urllib.parse import urlencode, urlsplit, urlunsplit

from .._base.bearer import mask
from .._base.errors import ConfigError, LiveChatTokenError, printable
from .._base.settings import is_loopback_host

Who = Literal["agent", "customer"]
MAX_FRAME = 16 * 1024 * 1024
"""The largest frame taken (a login's initial state can be large; LiveChat sends no more)."""
MAX_PUSHES = 10_000
"""Pushes kept unread; beyond that the oldest go (a test that never waits for them)."""
_TOKEN_ACTIONS = frozenset({"login", "update_session"})


class RtmError(Exception):
    """LiveChat answered an RTM request with ``success: false``: ``type`` and ``message`` are
    its error's (``authentication``, ``validation``, ...). Never holds a token."""

    def __init__(self, action: str, type: str, message: str) -> None:
        self.action, self.type, self.message = action, type, message
        super().__init__(f"LiveChat RTM {action} failed: {type}: {message}")


class RtmUnavailable(LiveChatTokenError):
    """No usable RTM session: the connection, the login or a wait failed. One line that says
    what to do."""


class Message(NamedTuple):
    """One frame from the server, read."""

    kind: str  # "response" or "push"
    action: str
    request_id: str | None
    success: bool
    payload: dict[str, Any]


def rtm_url(api_url: str, who: Who, organization_id: str) -> str:
    """``wss://<api host>/v3.6/{agent,customer}/rtm/ws?organization_id=<id>`` from the API's
    base URL (``https`` becomes ``wss``; ``http``, for a loopback test server only, ``ws``)."""
    parts = urlsplit(api_url)
    if parts.scheme == "https":
        scheme = "wss"
    elif parts.scheme == "http" and is_loopback_host(parts.hostname or ""):
        scheme = "ws"
    else:
        raise RtmUnavailable(
            f"the LiveChat API URL {printable(api_url, 80)} is neither https:// nor a loopback "
            "http:// one: RTM connects to wss:// (plain ws:// only to this machine)."
        )
    path = parts.path.rstrip("/") + f"/{who}/rtm/ws"
    query = urlencode({"organization_id": organization_id})
    return urlunsplit((scheme, parts.netloc, path, query, ""))


LOGIN_OPTIONS: dict[str, tuple[str, ...]] = {
    "agent": ("away", "pushes", "application", "customer_monitoring_level", "timezone"),
    "customer": ("group_id", "customer_page", "application", "pushes"),
}
"""What a ``login`` may carry besides the token (Agent Chat API RTM reference, ``login``;
Customer Chat API RTM reference, ``login``)."""


def login_options(who: Who, given: object) -> dict[str, Any]:
    """``given`` when it maps login options of ``who`` to values; else a ``ConfigError`` that
    names the ones there are."""
    allowed = LOGIN_OPTIONS[who]
    if not isinstance(given, Mapping):
        raise ConfigError(
            f"livechat_rtm_login({who}=...) takes a dict of login options ({', '.join(allowed)})."
        )
    unknown = sorted(name for name in given if name not in allowed)
    if unknown:
        raise ConfigError(
            f"{', '.join(printable(name, 40) for name in unknown)}: not an option of the {who} "
            f"login of LiveChat RTM (those are {', '.join(allowed)})."
        )
    return dict(given)


def request_frame(action: str, payload: Mapping[str, Any] | None, request_id: str) -> str:
    return json.dumps({"action": action, "payload": dict(payload or {}), "request_id": request_id})


def token_payload(token: str) -> dict[str, str]:
    """The payload of ``login`` and ``update_session``: ``{"token": "Bearer <token>"}``."""
    return {"token": f"Bearer {token}"}


def shown(action: str, payload: Mapping[str, Any] | None) -> str:
    """A request as the DEBUG log shows it: a login's or update_session's token masked (the
    log records are masked again where they land)."""
    body = dict(payload or {})
    if action in _TOKEN_ACTIONS and isinstance(body.get("token"), str):
        body["token"] = "Bearer " + mask(body["token"].removeprefix("Bearer "))
    return printable(json.dumps({"action": action, "payload": body}), 2000)


def parse(text: str | bytes) -> Message | None:
    """A frame from the server, or None for anything that is not a response or a push."""
    try:
        raw = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(raw, dict):
        return None
    kind, action, payload = raw.get("type"), raw.get("action"), raw.get("payload", {})
    request_id = raw.get("request_id")
    if kind not in ("response", "push") or not isinstance(action, str):
        return None
    if not isinstance(payload, dict):
        payload = {"value": payload}
    return Message(
        kind,
        printable(action, 64),
        request_id if isinstance(request_id, str) else None,
        raw.get("success") is True,
        payload,
    )


def error_of(message: Message) -> RtmError:
    """The ``RtmError`` a failed response stands for."""
    error = message.payload.get("error")
    error = error if isinstance(error, dict) else {}
    return RtmError(
        message.action,
        printable(str(error.get("type", "unknown")), 64),
        printable(str(error.get("message", "no message")), 300),
    )


Where = Callable[[dict[str, Any]], bool]


class Mailbox:
    """Responses by ``request_id`` and pushes in order of arrival, from the reader thread to
    whoever waits; pushes are kept from the login on, so one that arrives between a request
    and the wait for it is not missed. ``close`` wakes every waiter."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._changed = threading.Condition()
        self._responses: dict[str, Message] = {}
        self._pushes: deque[Message] = deque(maxlen=MAX_PUSHES)
        self._closed: str | None = None
        self._clock = clock

    def put(self, message: Message) -> None:
        with self._changed:
            if message.kind == "push":
                self._pushes.append(message)
            elif message.request_id is not None:
                self._responses[message.request_id] = message
            self._changed.notify_all()

    def close(self, why: str) -> None:
        with self._changed:
            if self._closed is None:
                self._closed = why
            self._changed.notify_all()

    @property
    def closed(self) -> str | None:
        return self._closed

    def response(self, request_id: str, timeout: float, what: str) -> Message:
        """The response to ``request_id``; ``RtmUnavailable`` after ``timeout`` seconds or when
        the connection is gone."""
        return self._wait(lambda: self._responses.pop(request_id, None), timeout, what)

    def push(
        self, action: str, where: Where | None, timeout: float, told: float | None = None
    ) -> Message:
        """The first push ``action`` (that ``where`` accepts), taken out of the mailbox;
        ``told``: the time-out the caller was given, for the message (a caller that waits in
        parts gives each part its own ``timeout``)."""

        def first() -> Message | None:
            for message in self._pushes:
                if message.action == action and (where is None or where(message.payload)):
                    self._pushes.remove(message)
                    return message
            return None

        return self._wait(first, timeout, f"the {printable(action, 64)} push", told)

    def _wait(
        self,
        take: Callable[[], Message | None],
        timeout: float,
        what: str,
        told: float | None = None,
    ) -> Message:
        deadline = self._clock() + timeout
        with self._changed:
            while True:
                found = take()
                if found is not None:
                    return found
                if self._closed is not None:
                    raise RtmUnavailable(f"no {what}: {self._closed}")
                left = deadline - self._clock()
                if left <= 0:
                    raise RtmUnavailable(
                        f"no {what} within {told or timeout:g} s; the RTM connection is open. "
                        "Raise the timeout if LiveChat is slow, or check what the test expects."
                    )
                self._changed.wait(left)
