"""A real WebSocket server on 127.0.0.1 that plays LiveChat's RTM APIs for the tests, on the
tokens the test accounts server issued.

The pages it follows (livechat/livechat-public-docs):
- Messaging > Agent Chat API > RTM reference: "Authorization" (log in within 30 s), "Server
  pinging" (ping every 15 s, closed after about 30 s without), Login, Update Session,
  List Chats, Send Event; RTM pushes: ``incoming_chat``, ``incoming_event``,
  ``agent_disconnected`` (``connection_timeout``, ``access_token_revoked``).
- Messaging > Customer Chat API > RTM reference: Login (a customer token), Start Chat, Send
  Event; pushes ``incoming_event``, ``customer_disconnected``.
- Both: ``wss://api.livechatinc.com/v3.6/{agent,customer}/rtm/ws?organization_id=<id>``, the
  ``request_id`` echoed in each ``response``, errors as ``success: false`` with
  ``payload.error.type`` and ``message``.
Knobs shorten the login and idle limits, so that no test waits 30 s.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import ssl
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

from .accounts_server import AccountsServer

VERSIONS = ("v3.5", "v3.6", "v3.7")


@dataclass
class Peer:
    """One logged-in connection."""

    who: str
    organization_id: str
    user: str  # the agent's account id, or the customer's entity id
    connection: ServerConnection
    token: str


@dataclass
class RtmServer:
    accounts: AccountsServer
    login_within: float = 30.0
    idle: float = 30.0  # seconds without a message, after the login, before it disconnects
    silent: bool = False  # takes every frame and answers none (a stuck server)
    busy: int = 0  # how many requests (but login) get too_many_requests first (RTM errors)
    peers: list[Peer] = field(default_factory=list)
    chats: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Every request it took: (who, action, request_id, payload), tokens included.
    seen: list[tuple[str, str, str | None, dict[str, Any]]] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    """The API version of each connection (``3.6`` of ``/v3.6/agent/rtm/ws``)."""
    pings: int = 0
    closed: threading.Event = field(default_factory=threading.Event)  # set when one is cut off
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""
    _server: Server | None = None

    def start(self, tls: ssl.SSLContext | None = None) -> RtmServer:
        """Serve; with ``tls``, over TLS (``url`` is then an ``https://localhost`` one)."""
        self._server = serve(
            self._handle, "127.0.0.1", 0, compression=None, ping_interval=None, ssl=tls
        )
        port = self._server.socket.getsockname()[1]
        host = "https://localhost" if tls else "http://127.0.0.1"
        self.url = f"{host}:{port}/v3.6/"
        threading.Thread(target=self._server.serve_forever, name="rtm", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()

    def disconnect(self, reason: str, data: dict[str, Any] | None = None) -> None:
        """RTM pushes, ``agent_disconnected``/``customer_disconnected``: the push with its
        reason (``access_token_revoked``: "Don't reconnect") and its data
        (``misdirected_connection``: ``region``), then the connection closes."""
        with self.lock:
            peers = list(self.peers)
        pushed: dict[str, Any] = {"reason": reason, **({"data": data} if data else {})}
        for peer in peers:
            self._push(peer.connection, f"{peer.who}_disconnected", pushed)
            peer.connection.close(1000, reason)

    def push_to_agents(self, action: str, payload: dict[str, Any]) -> None:
        """A push to every agent logged in (as LiveChat pushes an incoming event)."""
        with self.lock:
            agents = [peer for peer in self.peers if peer.who == "agent"]
        for peer in agents:
            self._push(peer.connection, action, payload)

    def actions(self, who: str | None = None) -> list[str]:
        with self.lock:
            return [action for w, action, _, _ in self.seen if who is None or w == who]

    # -- one connection ---------------------------------------------------------------------

    def _endpoint(self, path: str) -> str | None:
        """``agent`` or ``customer`` for ``/v3.X/{agent,customer}/rtm/ws`` of a version the docs
        name (3.5 legacy, 3.6 stable, 3.7 developer preview), recorded; None for another."""
        _, version, who, *rest = [*path.split("/"), "", "", ""]
        if version not in VERSIONS or who not in ("agent", "customer") or rest[:2] != ["rtm", "ws"]:
            return None
        with self.lock:
            self.versions.append(version.removeprefix("v"))
        return who

    def _handle(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        parts = urlsplit(connection.request.path)
        who = self._endpoint(parts.path)
        if who is None:
            connection.close(1008, "unknown endpoint")
            return
        organization = parse_qs(parts.query).get("organization_id", [None])[0]
        if self.silent:
            with contextlib.suppress(ConnectionClosed):
                for _ in connection:
                    pass
            return
        peer: Peer | None = None
        try:
            while True:
                limit = self.login_within if peer is None else self.idle
                try:
                    raw = connection.recv(timeout=limit)
                except TimeoutError:
                    self._cut_off(connection, who, peer)
                    return
                frame = json.loads(raw)
                action = frame.get("action", "")
                request_id = frame.get("request_id")
                payload = frame.get("payload") or {}
                with self.lock:
                    self.seen.append((who, action, request_id, payload))
                if action == "ping":
                    with self.lock:
                        self.pings += 1
                    self._answer(connection, action, request_id, {})
                elif action == "login":
                    peer = self._login(connection, who, organization, request_id, payload)
                elif peer is None:
                    self._fail(connection, action, request_id, "authentication", "Not logged in")
                else:
                    self._act(peer, action, request_id, payload)
        except ConnectionClosed:
            pass
        finally:
            with self.lock:
                self.peers = [p for p in self.peers if p.connection is not connection]

    def _cut_off(self, connection: ServerConnection, who: str, peer: Peer | None) -> None:
        """ "Server pinging": closed after the limit without a ping (or without a login)."""
        if peer is not None:
            self._push(connection, f"{who}_disconnected", {"reason": "connection_timeout"})
        self.closed.set()
        connection.close(1000, "connection_timeout")

    def _who_is(self, who: str, token: str) -> tuple[str, str] | None:
        """(organization, user) of a token the accounts server issued, or None."""
        with self.accounts.lock:
            if who == "agent":
                if token in self.accounts.bot_tokens:  # "bots cannot open an RTM connection"
                    return None
                issued = self.accounts.tokens.get(token)
                if issued is None or issued.revoked:
                    return None
                return issued.organization_id, issued.account_id
            entity = self.accounts.customer_tokens.get(token)
            return ("org-1", entity) if entity is not None else None

    def _login(
        self,
        connection: ServerConnection,
        who: str,
        organization: str | None,
        request_id: str | None,
        payload: dict[str, Any],
    ) -> Peer | None:
        scheme, _, token = str(payload.get("token", "")).partition(" ")
        identity = self._who_is(who, token) if scheme == "Bearer" else None
        if organization is None:
            self._fail(connection, "login", request_id, "validation", "organization_id is required")
            return None
        if identity is None:
            self._fail(connection, "login", request_id, "authentication", "Invalid access token")
            return None
        if identity[0] != organization:
            self._fail(connection, "login", request_id, "authorization", "Wrong organization")
            return None
        peer = Peer(who, organization, identity[1], connection, token)
        with self.lock:
            self.peers.append(peer)
        state = (
            {"license": {"id": "104130623"}, "my_profile": {"id": identity[1]}, "chats_summary": []}
            if who == "agent"
            else {"customer_id": identity[1], "chats": []}
        )
        self._answer(connection, "login", request_id, state)
        return peer

    def _act(
        self, peer: Peer, action: str, request_id: str | None, payload: dict[str, Any]
    ) -> None:
        connection = peer.connection
        with self.lock:
            busy = self.busy > 0
            self.busy -= 1 if busy else 0
        if busy:  # RTM API errors: too_many_requests
            self._fail(connection, action, request_id, "too_many_requests", "Too many requests")
            return
        if action == "update_session" and peer.who == "agent":  # agents only (Agent Chat API)
            scheme, _, token = str(payload.get("token", "")).partition(" ")
            identity = self._who_is(peer.who, token) if scheme == "Bearer" else None
            if identity is None or identity[1] != peer.user:
                self._fail(connection, action, request_id, "authentication", "Invalid token")
                return
            peer.token = token
            self._answer(connection, action, request_id, {})
        elif action == "list_chats" and peer.who == "agent":
            with self.lock:
                summary = [{"id": chat_id} for chat_id in self.chats]
            self._answer(
                connection,
                action,
                request_id,
                {"chats_summary": summary, "found_chats": len(summary)},
            )
        elif action == "start_chat":  # both RTM APIs: one chat store with the Web APIs'
            started = self.accounts.start_chat()
            chat_id, thread_id = started["chat_id"], started["thread_id"]
            with self.lock:
                self.chats[chat_id] = {"customer": peer.user, "events": []}
            self._answer(
                connection, action, request_id, {"chat_id": chat_id, "thread_id": thread_id}
            )
            chat = {"id": chat_id, "thread": {"id": thread_id}, "users": [{"id": peer.user}]}
            self._to_agents(peer.organization_id, "incoming_chat", {"chat": chat})
        elif action == "send_event":
            self._send_event(peer, request_id, payload)
        else:
            self._fail(connection, action, request_id, "validation", "Unsupported action")

    def _send_event(self, peer: Peer, request_id: str | None, payload: dict[str, Any]) -> None:
        chat_id, event = payload.get("chat_id"), payload.get("event")
        with self.lock:
            chat = self.chats.get(str(chat_id))
        allowed = chat is not None and (peer.who == "agent" or chat["customer"] == peer.user)
        if chat is None or not allowed or not isinstance(event, dict):
            self._fail(peer.connection, "send_event", request_id, "not_found", "Chat not found")
            return
        event_id = f"EV{secrets.token_hex(4).upper()}"
        stored = {**event, "id": event_id, "author_id": peer.user}
        self._answer(peer.connection, "send_event", request_id, {"event_id": event_id})
        pushed = {"chat_id": chat_id, "thread_id": "TH", "event": stored}
        # incoming_event goes to the agents of the chat's organization and to its customer.
        with self.lock:
            targets = [
                p
                for p in self.peers
                if p.connection is not peer.connection
                and p.organization_id == peer.organization_id
                and (p.who == "agent" or p.user == chat["customer"])
            ]
        for target in targets:
            self._push(target.connection, "incoming_event", pushed)

    def _to_agents(self, organization: str, action: str, payload: dict[str, Any]) -> None:
        with self.lock:
            agents = [
                p for p in self.peers if p.who == "agent" and p.organization_id == organization
            ]
        for agent in agents:
            self._push(agent.connection, action, payload)

    @staticmethod
    def _answer(
        connection: ServerConnection, action: str, request_id: str | None, payload: dict[str, Any]
    ) -> None:
        frame = {"action": action, "type": "response", "success": True, "payload": payload}
        if request_id is not None:
            frame["request_id"] = request_id
        connection.send(json.dumps(frame))

    @staticmethod
    def _fail(
        connection: ServerConnection, action: str, request_id: str | None, kind: str, text: str
    ) -> None:
        frame: dict[str, Any] = {
            "action": action,
            "type": "response",
            "success": False,
            "payload": {"error": {"type": kind, "message": text}},
        }
        if request_id is not None:
            frame["request_id"] = request_id
        connection.send(json.dumps(frame))

    @staticmethod
    def _push(connection: ServerConnection, action: str, payload: dict[str, Any]) -> None:
        with contextlib.suppress(ConnectionClosed):
            connection.send(json.dumps({"action": action, "type": "push", "payload": payload}))
