"""RTM sessions (Messaging > Agent Chat API and Customer Chat API > RTM reference): a WebSocket
to LiveChat, logged in, pinged in the background, with a sync interface (``Rtm``) and an async
one over it (``AsyncRtm``).

Built on the ``websockets`` library's sync client (the ``rtm`` extra), imported when a session
is opened. One reader thread feeds a ``Mailbox``; one pinger thread sends ``ping`` every 15 s.
The async interface waits for the same session off the event loop, so a session belongs to no
loop: it works under pytest-asyncio's and anyio's (asyncio) loops of any scope.

Nothing here logs, raises or shows a token: frames are logged at DEBUG with the token masked;
TLS certificates are verified (``wss://``); plain ``ws://`` is for loopback only.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from .._base.bearer import seconds_left, utcnow
from .._base.chats import CHAT_ACTIONS, chat_of
from .._base.errors import printable
from .._base.settings import DEFAULT_MIN_TTL
from .frames import (
    MAX_FRAME,
    Mailbox,
    RtmUnavailable,
    Where,
    Who,
    error_of,
    parse,
    request_frame,
    shown,
    token_payload,
)

if TYPE_CHECKING:
    from websockets.sync.client import ClientConnection

    from .._base.bearer import BearerToken, CustomerToken

    Token = BearerToken | CustomerToken

log = logging.getLogger("pytest_livechat_token")

EXTRA = "pip install 'pytest-livechat-token[rtm]'"
CONNECT_TIMEOUT = 10.0
TIMEOUT = 20.0
"""A request's own deadline: past LiveChat's ``request_timeout`` (15 s), so that its answer,
not a race with it, says what happened."""
"""Each request's and each wait's deadline unless the call gives one."""
PING_EVERY = 15.0
"""The docs: "ping the server every 15 seconds"."""


BUSY = frozenset({"too_many_requests", "pending_requests_limit_reached"})
BUSY_RETRIES = 3

_DISCONNECTS = {
    "access_token_expired": "its token expired: open a new session (the token is renewed "
    "silently with the code grant)",
    "access_token_revoked": "its token was revoked (a logout elsewhere): log in again "
    "(pytest --livechat-login)",
    "connection_evicted": "another connection of the same user and client took its place: "
    "use one session a user and test",
    "too_many_connections": "the user has too many RTM connections open: close other "
    "sessions of that user (other tests, an Agent App tab)",
    "misdirected_connection": "it connected to another region than the license's: point "
    "--livechat-api-url at that region",
    "internal_error": "LiveChat failed on its side: run again in a while",
    "license_expired": "the license expired",
    "logged_out_remotely": "the user was logged out elsewhere: log in again",
}
"""What a disconnect reason (RTM pushes, ``agent_disconnected`` and ``customer_disconnected``)
means and what to do; nothing reconnects by itself."""


def disconnected(payload: Mapping[str, Any]) -> str:
    """The one line a disconnect push is worth: what happened and what to do."""
    reason = printable(str(payload.get("reason", "unknown")), 64)
    advice = _DISCONNECTS.get(reason, "see LiveChat's list of disconnect reasons (RTM pushes)")
    data = payload.get("data")
    region = data.get("region") if isinstance(data, dict) else None
    if reason == "misdirected_connection" and isinstance(region, str):
        advice += f" ({printable(region, 16)})"
    return f"LiveChat disconnected the session ({reason}): {advice}"


class Rtm:
    """A logged-in RTM session. ``request`` sends an action and returns its response payload;
    ``wait_for`` returns the first matching push; ``close`` ends it (the fixtures do)."""

    def __init__(
        self,
        connection: ClientConnection,
        token: Token,
        *,
        who: Who,
        renew: Callable[[], Token | None] | None = None,
        min_ttl: float = DEFAULT_MIN_TTL,
        ping_every: float = PING_EVERY,
        timeout: float = TIMEOUT,
        login_options: Mapping[str, Any] | None = None,
        reconnect: Callable[[], ClientConnection] | None = None,
    ) -> None:
        self.who = who
        self.timeout = timeout
        self._connection = connection
        self._token = token
        self._login_options = dict(login_options or {})
        self._unrenewed: str | None = None  # a token the run could not renew: not asked again
        self._reconnect = reconnect
        self._ping_every = ping_every
        self._expired = False  # LiveChat ended the session for an expired token
        self._revived = False  # ... and it was renewed and logged in again (once a session)
        self._renew = renew
        self._min_ttl = min_ttl
        self._ids = itertools.count(1)
        self._mailbox = Mailbox()
        self._stop = threading.Event()
        self._send_lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, name="livechat-rtm-read", daemon=True)
        self._pinger = threading.Thread(
            target=self._ping, args=(ping_every,), name="livechat-rtm-ping", daemon=True
        )
        self._reader.start()
        self.on_chat: Callable[[str, str], None] | None = None
        """Told of each chat this session starts, resumes or deactivates (the chat cleanup)."""

    def __repr__(self) -> str:
        return f"Rtm(who={self.who!r}, closed={self._mailbox.closed is not None})"

    # -- what a test calls ---------------------------------------------------------------------

    def request(
        self, action: str, payload: Mapping[str, Any] | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        """Send ``action`` and return its response's payload; ``RtmError`` when LiveChat
        answers ``success: false``, ``RtmUnavailable`` when no answer comes in time."""
        self._keep_token_fresh()
        answer = self._request(action, payload, timeout)
        chat_id = chat_of(action, payload, answer) if action in CHAT_ACTIONS else None
        if self.on_chat is not None and chat_id is not None:
            self.on_chat(action, chat_id)
        return answer

    def wait_for(
        self, action: str, where: Where | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        """The payload of the first push ``action`` since the login that ``where`` (a function
        of the payload) accepts; each push is returned once. A long wait renews the session's
        token when it is due (``update_session``, from this thread, as a request would), so
        that the session outlives it."""
        total = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + total
        while True:
            self._keep_token_fresh()
            left = max(deadline - time.monotonic(), 0.0)
            due = self._renewal_due()
            if due is None or due >= left:
                try:
                    return self._mailbox.push(action, where, left, total).payload
                except RtmUnavailable:
                    if self._mailbox.closed is None or not self._revive():
                        raise
                    continue
            try:
                return self._mailbox.push(action, where, max(due, 0.05), total).payload
            except RtmUnavailable:
                if self._mailbox.closed is not None and not self._revive():
                    raise

    def _renewal_due(self) -> float | None:
        """Seconds until the session's token is due for renewal; None when it never is."""
        expires = self._token.expires_at
        if self._renew is None or expires is None or self.who == "customer":
            return None
        if self._unrenewed == str(self._token):
            return None
        return seconds_left(expires, utcnow()) - self._min_ttl

    def update_session(self, token: Token) -> None:
        """Swap the session's token for ``token`` (``update_session``)."""
        self._request("update_session", token_payload(str(token)), None)
        self._token = token

    @property
    def aio(self) -> AsyncRtm:
        """The same session, async."""
        return AsyncRtm(self)

    def close(self) -> None:
        self._stop.set()
        self._mailbox.close("the RTM session was closed")
        try:
            self._connection.close()
        except Exception as error:
            log.debug("closing the RTM connection: %s", type(error).__name__)
        self._reader.join(5)

    # -- the session's own work ----------------------------------------------------------------

    def login(self, timeout: float | None = None) -> dict[str, Any]:
        """Log in with the session's token and login options (``open_session`` does); the
        initial state."""
        payload = {**self._login_options, **token_payload(str(self._token))}
        answer = self._request("login", payload, timeout)
        if not self._pinger.is_alive():
            self._pinger.start()
        return answer

    def _request(
        self, action: str, payload: Mapping[str, Any] | None, timeout: float | None
    ) -> dict[str, Any]:
        """One request and its answer; a rate limit (``too_many_requests``,
        ``pending_requests_limit_reached``: at most 10 pending) is waited out and sent again,
        at most ``BUSY_RETRIES`` times (1, 2, 4 s), instead of failing the test."""
        for tries in range(BUSY_RETRIES + 1):
            request_id = f"plt-{next(self._ids)}"
            seconds = self.timeout if timeout is None else timeout
            try:
                self._send(action, payload, request_id)
                message = self._mailbox.response(
                    request_id, seconds, f"answer to {printable(action)}"
                )
            except RtmUnavailable:
                if action != "login" and self._revive():
                    return self._request(action, payload, timeout)
                raise
            if message.success:
                return message.payload
            error = error_of(message)
            if error.type not in BUSY or tries == BUSY_RETRIES:
                raise error
            log.debug("RTM %s: %s for %s; sending it again", self.who, error.type, action)
            time.sleep(2.0**tries)
        raise AssertionError  # the loop returns or raises

    def _send(self, action: str, payload: Mapping[str, Any] | None, request_id: str) -> None:
        from websockets.exceptions import ConnectionClosed

        log.debug("RTM %s > %s", self.who, shown(action, payload))
        try:
            with self._send_lock:
                self._connection.send(request_frame(action, payload, request_id))
        except ConnectionClosed:
            if threading.current_thread() is not self._reader:
                self._reader.join(5)  # its last frames read: why LiveChat closed it, if it said
            raise RtmUnavailable(
                f"could not send {printable(action)}: {self._mailbox.closed or 'connection closed'}"
            ) from None

    def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        why = "LiveChat closed the RTM connection"
        try:
            for frame in self._connection:
                message = parse(frame)
                if message is None:
                    log.debug("RTM %s < a frame that is neither a response nor a push", self.who)
                    continue
                log.debug("RTM %s < %s %s", self.who, message.kind, message.action)
                if message.kind == "push" and message.action.endswith("_disconnected"):
                    why = disconnected(message.payload)
                    self._expired = message.payload.get("reason") == "access_token_expired"
                self._mailbox.put(message)
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd is not None else None
            why = f"{why} (code {code})" if code else why
        except Exception as error:
            why = f"the RTM connection failed ({type(error).__name__})"
        self._mailbox.close(why)

    def _revive(self) -> bool:
        """After LiveChat ended the session for an expired token (``access_token_expired``:
        "renew and reconnect"), renew the token and log in again on a new connection, once a
        session; whether it did. Nothing else reconnects."""
        if self._revived or self._reconnect is None or self._renew is None:
            return False
        self._reader.join(5)  # every frame read: the disconnect push, when there was one
        if not self._expired:
            return False
        self._revived = True
        renewed = self._renew()
        if renewed is None:
            return False
        self._connection, self._token = self._reconnect(), renewed
        self._mailbox = Mailbox()
        self._reader = threading.Thread(target=self._read, name="livechat-rtm-read", daemon=True)
        self._reader.start()
        if not self._pinger.is_alive():
            self._pinger = threading.Thread(
                target=self._ping, args=(self._ping_every,), name="livechat-rtm-ping", daemon=True
            )
        self.login()
        log.debug("RTM %s: logged in again with a renewed token", self.who)
        return True

    def _ping(self, every: float) -> None:
        while not self._stop.wait(every):
            try:
                self._send("ping", {}, f"plt-ping-{next(self._ids)}")
            except RtmUnavailable:
                return

    def _keep_token_fresh(self) -> None:
        """When an agent session's token has less than ``min_ttl`` left and the run can renew
        it silently, ``update_session`` it before LiveChat ends the session. A customer
        session never does: the Customer Chat API has no ``update_session`` (its RTM method
        list); it lasts as long as the customer token it logged in with."""
        expires = self._token.expires_at
        if self._renew is None or expires is None or self.who == "customer":
            return
        if seconds_left(expires, utcnow()) >= self._min_ttl or self._unrenewed == str(self._token):
            return
        renewed = self._renew()
        if renewed is not None and str(renewed) != str(self._token):
            log.debug("RTM %s: the token was renewed; sending update_session", self.who)
            self.update_session(renewed)
        else:
            self._unrenewed = str(self._token)


class AsyncRtm:
    """An ``Rtm`` for async tests: the same methods, awaited. It waits off the event loop,
    so it belongs to none (asyncio's, or anyio's asyncio backend)."""

    def __init__(self, rtm: Rtm) -> None:
        self.sync = rtm

    def __repr__(self) -> str:
        return f"AsyncRtm({self.sync!r})"

    async def request(
        self, action: str, payload: Mapping[str, Any] | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        return await _off_loop(partial(self.sync.request, action, payload, timeout))

    async def wait_for(
        self, action: str, where: Where | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        return await _off_loop(partial(self.sync.wait_for, action, where, timeout))

    async def update_session(self, token: Token) -> None:
        await _off_loop(partial(self.sync.update_session, token))


_R = TypeVar("_R")


async def _off_loop(call: Callable[[], _R]) -> _R:
    return await asyncio.get_running_loop().run_in_executor(None, call)


def open_session(
    url: str,
    token: Token,
    *,
    who: Who,
    renew: Callable[[], Token | None] | None = None,
    min_ttl: float = DEFAULT_MIN_TTL,
    ping_every: float = PING_EVERY,
    timeout: float = TIMEOUT,
    connect_timeout: float = CONNECT_TIMEOUT,
    login_options: Mapping[str, Any] | None = None,
) -> tuple[Rtm, dict[str, Any]]:
    """Connect to ``url`` (``rtm_frames.rtm_url``) and log in with ``token`` (and the login
    options, checked by ``frames.login_options``); the session and the login's answer (the
    initial state). ``RtmUnavailable`` with one line for a refused connection, a refused login
    or a time-out."""
    try:
        from websockets.exceptions import InvalidHandshake, InvalidURI
        from websockets.sync.client import connect
    except ImportError:
        raise RtmUnavailable(f"the RTM fixtures need the websockets library: {EXTRA}") from None
    from urllib.parse import urlsplit

    from .._base.settings import is_loopback_host
    from .frames import RtmError

    where = printable(url.split("?", 1)[0], 120)
    local = is_loopback_host(urlsplit(url).hostname or "")

    def dial() -> ClientConnection:
        try:
            opened = connect(
                url,
                proxy=None if local else True,  # the environment's proxy, never for this host
                open_timeout=connect_timeout,
                close_timeout=5,
                max_size=MAX_FRAME,
                ping_interval=None,  # LiveChat's own ping action, below
                compression=None,
            )
            # As a context manager (websockets 17.1 deprecates the rest); Rtm.close closes it.
            connection: ClientConnection = opened.__enter__()
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as error:
            raise RtmUnavailable(
                f"could not connect to LiveChat RTM at {where} ({type(error).__name__}: "
                f"{printable(str(error), 160)}). Check --livechat-api-url and the network."
            ) from None
        return connection

    session = Rtm(
        dial(),
        token,
        who=who,
        renew=renew,
        min_ttl=min_ttl,
        ping_every=ping_every,
        timeout=timeout,
        login_options=login_options,
        reconnect=dial,
    )
    try:
        state = session.login(timeout)
    except RtmError as refused:
        session.close()
        raise RtmUnavailable(
            f"LiveChat RTM refused the {who} login ({refused.type}: {refused.message}). "
            + _login_fix(refused.type)
        ) from None
    except RtmUnavailable as failed:
        session.close()
        raise RtmUnavailable(f"LiveChat RTM {who} login failed: {failed}") from None
    return session, state


def _login_fix(kind: str) -> str:
    if kind == "authentication":
        return "The token is expired or revoked: log in again (pytest --livechat-login)."
    if kind in ("authorization", "missing_access"):
        return "The token lacks a scope the login needs, or belongs to another organization."
    return "See LiveChat's RTM reference for this error."
