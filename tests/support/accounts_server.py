"""A real HTTP server on 127.0.0.1 that plays the LiveChat accounts server for the tests.

Each endpoint follows a page of LiveChat's public docs (livechat/livechat-public-docs), named
beside it. Knobs let a test make it answer as a hostile or troubled server would.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import json
import secrets
import socket
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

TLS = Path(__file__).parent / "tls"
"""A test CA (``ca.pem``) and the certificate it signed for 127.0.0.1 (``server.pem``,
``server.key``), both valid until 2126: for a client, ``SSL_CERT_FILE=<TLS>/ca.pem``."""


@dataclass
class Issued:
    client_id: str
    expires_in: int
    scope: str
    revoked: bool = False
    account_id: str = "acc-1"
    organization_id: str = "org-1"


@dataclass
class Code:
    client_id: str
    redirect_uri: str
    challenge: str | None
    method: str
    account_id: str = "acc-1"
    used: bool = False


@dataclass
class Bot:
    """A bot (Configuration API > Bots), as Create Bot made it."""

    name: str
    secret: str
    owner_client_id: str
    organization_id: str
    routing_status: str = "not_accepting_chats"


@dataclass
class AccountsServer:
    """Tokens it issued, and every request it saw (method, path)."""

    access_expires_in: int = 28800  # what the code grant's token answers say
    tokens: dict[str, Issued] = field(default_factory=dict)
    codes: dict[str, Code] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh token -> its access
    refresh_calls: int = 0
    # Knobs. A fixed answer (status, body, headers) for a (method, path); seconds between the
    # bytes of the answers to a (method, path); how many POST /v2/token calls get a 429 first.
    fixed: dict[tuple[str, str], tuple[int, bytes, dict[str, str]]] = field(default_factory=dict)
    trickle: dict[tuple[str, str], float] = field(default_factory=dict)
    # An answer to a (method, path) held back until its event is set; ``arrived`` is set when
    # such a request has come in (its answer is computed: a refresh has rotated the pair).
    hold: dict[tuple[str, str], threading.Event] = field(default_factory=dict)
    arrived: threading.Event = field(default_factory=threading.Event)
    rate_limited: int = 0
    retry_after: str | None = "1"
    # How many API calls get a 429 too_many_requests first (Messaging APIs, "Rate limits"),
    # and the Retry-After they carry (None: none).
    api_rate_limited: int = 0
    api_retry_after: str | None = "0"
    # The LiveChat user the browser is logged in as: the one a login at "/" is for.
    user: str = "acc-1"
    # Whether POST /v2/token answers name the user (account_id, organization_id), as LiveChat's do.
    ids_in_token_answer: bool = True
    # Whether a refresh rotates the refresh token (a web app's do); when not (a server-side
    # app's), the answer carries none and the old one keeps working (RFC 6749 section 6).
    rotate: bool = True
    # Server-side apps (client id -> client secret): the code exchange and every refresh must
    # send the secret (else 401 invalid_client), and their refresh tokens do not rotate
    # (Authorization > OAuth 2.1 > PKCE extension).
    client_secrets: dict[str, str] = field(default_factory=dict)
    # Customers made by the agent token grant (entity ids), the customer tokens issued (token ->
    # entity id), how long they live; Personal Access Tokens it accepts (Base64 -> account id).
    customer_ids: set[str] = field(default_factory=set)
    customer_tokens: dict[str, str] = field(default_factory=dict)
    customer_expires_in: int = 28800
    pats: dict[str, str] = field(default_factory=dict)
    # The Redirect URIs of each app (client id -> URIs) as the Developer Console holds them;
    # a client not named has only the plugin's default. See ``redirect_allowed``.
    redirect_uris: dict[str, list[str]] = field(default_factory=dict)
    default_redirect_uris: tuple[str, ...] = ("https://localhost",)
    # The region of the license: an API call with another X-Region is a misdirected_request
    # naming it (Messaging APIs, "Possible errors"); headers every API answer carries
    # (``Legacy``/``Deprecation: YYYY-MM-DD``, the APIs' lifecycle).
    license_region: str | None = None
    api_headers: dict[str, str] = field(default_factory=dict)
    # Whether the APIs' JSON answers are gzip-compressed for a client that accepts it (httpx
    # does by default), as a web server in front of an API usually does.
    compress_api: bool = False
    # Whether it serves HTTPS (with the certificate in ``TLS``), as LiveChat does; the
    # connections clients opened (it keeps each one alive, HTTP/1.1, as LiveChat's servers do).
    # Bots (Configuration API > Bots) by id, and the tokens issued to them (token -> bot id).
    bots: dict[str, Bot] = field(default_factory=dict)
    bot_tokens: dict[str, str] = field(default_factory=dict)
    # Chats (Agent and Customer Chat API v3.6: Start Chat, Resume Chat, Deactivate Chat; the
    # RTM server's start_chat too): id -> whether its thread is active.
    chats: dict[str, bool] = field(default_factory=dict)
    # Where a WebSocket upgrade (``/v3.6/{agent,customer}/rtm/ws``) is passed on to, byte for
    # byte: the test RTM server's (host, port). With it, one API URL serves the Web APIs and
    # RTM, as LiveChat's api.livechatinc.com does.
    rtm_upstream: tuple[str, int] | None = None
    tls: bool = False
    connections: int = 0
    open_connections: int = 0
    _closing: threading.Condition = field(default_factory=threading.Condition)
    # What each API call carried: path, query, Authorization, X-Region.
    api_calls: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    regions: list[str | None] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""
    _server: ThreadingHTTPServer | None = None

    def issue(
        self,
        client_id: str = "client-1",
        *,
        region: str = "dal",
        expires_in: int = 28800,
        scope: str = "chats--all:ro,agents--all:rw",
        account_id: str = "acc-1",
    ) -> str:
        """A new access token. Scopes are comma-separated, as LiveChat reports them."""
        token = f"{region}:{secrets.token_urlsafe(27)}"
        with self.lock:
            self.tokens[token] = Issued(client_id, expires_in, scope, account_id=account_id)
        return token

    def pair(self, client_id: str = "client-1", account_id: str = "acc-1") -> dict[str, Any]:
        """A new access token and its refresh token, as ``POST /v2/token`` answers."""
        access = self.issue(client_id, expires_in=self.access_expires_in, account_id=account_id)
        # "Refresh tokens no longer include the dal: or fra: prefixes" (Authorization docs).
        refresh = f"refresh-{secrets.token_urlsafe(20)}"
        with self.lock:
            self.refresh_tokens[refresh] = access
        answer = {
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": self.access_expires_in,
            "scope": self.tokens[access].scope,
            "token_type": "Bearer",
        }
        if self.ids_in_token_answer:
            answer |= {"account_id": account_id, "organization_id": "org-1"}
        return answer

    def count(self, method: str, path: str) -> int:
        with self.lock:
            return sum(1 for seen in self.requests if seen == (method, path))

    def start_chat(self) -> dict[str, str]:
        """A new active chat (Start Chat's answer)."""
        chat_id = f"CH{secrets.token_hex(5).upper()}"
        with self.lock:
            self.chats[chat_id] = True
        return {"chat_id": chat_id, "thread_id": f"TH{secrets.token_hex(4).upper()}"}

    def chat_action(self, action: str, body: Any) -> tuple[int, dict[str, Any]]:
        """Resume Chat (``chat.id``; a new thread of an inactive chat) and Deactivate Chat
        (``id``; ``chat_inactive`` when there is no active thread), as both Chat APIs answer."""
        chat = body.get("chat") if isinstance(body, dict) else None
        chat_id = (chat or {}).get("id") if action == "resume_chat" else (body or {}).get("id")
        with self.lock:
            active = self.chats.get(str(chat_id))
            if active is None:
                return 404, {"error": {"type": "not_found", "message": "Chat not found"}}
            if action == "deactivate_chat" and not active:
                return 400, {"error": {"type": "chat_inactive", "message": "Chat is inactive"}}
            if action == "resume_chat" and active:
                return 400, {"error": {"type": "validation", "message": "Chat is active"}}
            self.chats[str(chat_id)] = action == "resume_chat"
        return 200, {"thread_id": f"TH{secrets.token_hex(4).upper()}"} if active is False else {}

    def active_chats(self) -> set[str]:
        with self.lock:
            return {chat_id for chat_id, active in self.chats.items() if active}

    def all_closed(self, timeout: float = 30, besides: int = 0) -> bool:
        """Whether every connection a client opened (but ``besides`` of them) is closed (by the
        client: the server keeps them alive), waiting for them at most ``timeout`` seconds.
        ``GET /_test/others_closed`` asks it of the server: all but the asking connection."""
        with self._closing:
            return self._closing.wait_for(lambda: self.open_connections <= besides, timeout)

    def start(self) -> AccountsServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        if self.tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(TLS / "server.pem", TLS / "server.key")
            # The handshake happens in the connection's own thread, at its first read.
            server.socket = context.wrap_socket(
                server.socket, server_side=True, do_handshake_on_connect=False
            )
        self._server = server
        scheme = "https" if self.tls else "http"
        self.url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
        # A short poll: ``stop`` (every test's teardown) waits up to one poll interval.
        threading.Thread(
            target=server.serve_forever, args=(0.02,), name="accounts", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


BOT_ACTIONS = ("create_bot", "issue_bot_token", "delete_bot", "list_bots", "set_routing_status")


def _jwt_shaped(subject: str) -> str:
    """A token of a JWT's shape (header.payload.signature, base64url), as Issue Bot Token's."""

    def part(data: dict[str, Any] | bytes) -> str:
        raw = data if isinstance(data, bytes) else json.dumps(data).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    header = part({"alg": "HS256", "typ": "JWT"})
    payload = part({"sub": subject, "exp": int(time.time()) + 86400})
    return f"{header}.{payload}.{part(secrets.token_bytes(32))}"


def redirect_fragment(token: str, state: str | None, expires_in: int = 28800) -> str:
    """The fragment LiveChat appends to the redirect URI, token URL-encoded as LiveChat does."""
    parts = [
        f"access_token={quote(token, safe='')}",
        "token_type=Bearer",
        f"expires_in={expires_in}",
    ]
    if state is not None:
        parts.append(f"state={state}")
    return "#" + "&".join(parts)


def redirect_allowed(registered: str, requested: str) -> bool:
    """Authorization > OAuth 2.1 > "Redirect URIs": the scheme and the host (with its port)
    match exactly, the registered path is a substring of the requested one, path traversal
    (``..``) is forbidden and so are a query and a fragment (the docs' table, examples 1-11)."""
    mine, theirs = urlsplit(registered), urlsplit(requested)
    return (
        "?" not in requested
        and "#" not in requested
        and ".." not in theirs.path.split("/")
        and mine.scheme == theirs.scheme
        and mine.netloc.lower() == theirs.netloc.lower()
        and mine.path in theirs.path  # "including the slash at the end" (Troubleshooting)
    )


def _pkce_ok(code: Code, verifier: str) -> bool:
    if code.challenge is None:
        return False
    if code.method == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == code.challenge
    return code.method == "plain" and verifier == code.challenge


def _handler_for(accounts: AccountsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # connections kept alive, as LiveChat's servers keep them
        timeout = 60  # an idle kept-alive connection is closed after a minute
        disable_nagle_algorithm = True  # no 40 ms for the delayed ACK of a kept-alive answer
        _body: Any = None  # the JSON body of an API call
        _raw = b""  # the request's body, read whole as it comes in (``_record``)

        def setup(self) -> None:
            super().setup()
            with accounts._closing:
                accounts.connections += 1
                accounts.open_connections += 1
                self.number = accounts.connections  # the connection's, in order of opening
                accounts._closing.notify_all()

        def finish(self) -> None:
            try:
                super().finish()
            finally:
                with accounts._closing:
                    accounts.open_connections -= 1
                    accounts._closing.notify_all()

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: request lines may carry tokens."""

        def _record(self) -> str:
            """The request's path, the request recorded and its body read (so a kept-alive
            connection's next request starts where this one ends, whatever the answer)."""
            self._raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            path = urlsplit(self.path).path
            with accounts.lock:
                accounts.requests.append((self.command, path))
            return path

        def _bearer(self) -> Issued | None:
            header = self.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            with accounts.lock:
                issued = accounts.tokens.get(token) if scheme == "Bearer" else None
            return issued if issued and not issued.revoked else None

        def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            if urlsplit(self.path).path.startswith("/v3.6/"):
                headers = {**accounts.api_headers, **(headers or {})}
                if accounts.compress_api and "gzip" in self.headers.get("Accept-Encoding", ""):
                    data = gzip.compress(data)
                    headers["Content-Encoding"] = "gzip"
            self._send(status, data, headers or {})

        def _error(self, status: int, error: str, description: str) -> None:
            """The Global Accounts API's error body: ``{"error", "error_description"}``."""
            retry = accounts.retry_after if status == 429 else None
            headers = {"Retry-After": retry} if retry is not None else {}
            self._json(status, {"error": error, "error_description": description}, headers)

        def _send(self, status: int, data: bytes, headers: dict[str, str]) -> None:
            held = accounts.hold.get((self.command, urlsplit(self.path).path))
            if held is not None:
                accounts.arrived.set()
                held.wait(60)
            pause = accounts.trickle.get((self.command, urlsplit(self.path).path))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if pause is None:
                self.wfile.write(data)
                return
            for byte in data:  # a server that trickles its answer, one byte at a time
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(pause)

        def _tunneled(self) -> bool:
            """Whether this was a WebSocket upgrade, passed on to the RTM server
            (``rtm_upstream``): the request as it came, then every byte both ways until one
            side closes."""
            upstream = accounts.rtm_upstream
            if upstream is None or self.headers.get("Upgrade", "").lower() != "websocket":
                return False
            far = socket.create_connection(upstream, timeout=60)
            head = [self.requestline, *(f"{k}: {v}" for k, v in self.headers.items()), "", ""]
            far.sendall("\r\n".join(head).encode())
            near = self.connection

            def back() -> None:  # the RTM server's bytes to the client
                try:
                    while data := far.recv(65536):
                        near.sendall(data)
                except OSError:
                    pass
                finally:
                    with contextlib.suppress(OSError):
                        near.shutdown(socket.SHUT_RDWR)

            threading.Thread(target=back, name="rtm-tunnel", daemon=True).start()
            try:
                while data := self.rfile.read1(65536):  # what the parser buffered, then more
                    far.sendall(data)
            except OSError:
                pass
            finally:
                far.close()
                self.close_connection = True
            return True

        def _fixed(self, path: str) -> bool:
            """Whether it answered with a fixed answer (``fixed``) or the test's own question
            (``/_test/others_closed``, not LiveChat's: for a test run's own tests)."""
            if path == "/_test/others_closed":
                self._json(200, {"others_closed": accounts.all_closed(besides=1)})
                return True
            answer = accounts.fixed.get((self.command, path))
            if answer is not None:
                self._send(*answer)
            return answer is not None

        def do_GET(self) -> None:
            path = self._record()
            if self._tunneled() or self._fixed(path):
                return
            if path == "/v2/info":  # Global Accounts API: GET /v2/info (Authorization docs)
                scheme, _, given = self.headers.get("Authorization", "").partition(" ")
                if scheme != "Bearer" or not given:  # the spec's 422: a request it cannot read
                    self._error(422, "invalid_request", "Authorization: Bearer <token> required")
                    return
                issued = self._bearer()
                if issued is None:
                    self._error(401, "invalid_token", "Invalid access token")
                    return
                self._json(
                    200,
                    {
                        "access_token": self.headers["Authorization"].split(" ", 1)[1],
                        "account_id": issued.account_id,
                        "client_id": issued.client_id,
                        "expires_in": issued.expires_in,
                        "organization_id": issued.organization_id,
                        "scope": issued.scope,
                        "token_type": "Bearer",
                    },
                )
                return
            if path == "/ooops":  # Troubleshooting: every authorization error lands here
                self._send(200, b"Ooops! Something went wrong.", {})
                return
            if path == "/":  # Authorization docs: the implicit and the code grant (with PKCE)
                query = parse_qs(urlsplit(self.path).query)
                client_id = query.get("client_id", [""])[0]
                redirect_uri = query.get("redirect_uri", [""])[0]
                state = query.get("state", [None])[0]
                registered = accounts.redirect_uris.get(
                    client_id, list(accounts.default_redirect_uris)
                )
                problem = (
                    "redirect_uri_not_set"
                    if not registered
                    else None
                    if any(redirect_allowed(uri, redirect_uri) for uri in registered)
                    else "invalid_redirect_uri"
                )
                if problem is not None:  # Troubleshooting: "Exception details"
                    location = (
                        f"{accounts.url}/ooops?oauth_exception=unauthorized_client"
                        f"&exception_details={problem}"
                    )
                elif query.get("response_type") not in (["code"], ["token"]):
                    location = f"{accounts.url}/ooops?oauth_exception=unsupported_response_type"
                elif query.get("response_type") == ["code"]:
                    code = f"dal:code-{secrets.token_urlsafe(12)}"
                    with accounts.lock:
                        accounts.codes[code] = Code(
                            client_id,
                            redirect_uri,
                            query.get("code_challenge", [None])[0],
                            query.get("code_challenge_method", ["plain"])[0],
                            accounts.user,
                        )
                    location = f"{redirect_uri}?code={quote(code, safe='')}&state={state}"
                else:
                    token = accounts.issue(client_id, account_id=accounts.user)
                    location = redirect_uri + redirect_fragment(token, state)
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:
            path = self._record()
            if self._fixed(path):
                return
            if path in ("/v2/token", "/v2/customer/token"):
                (self._token_endpoint if path == "/v2/token" else self._customer_token_endpoint)()
                return
            self._body = json.loads(self._raw or b"{}")
            with accounts.lock:
                accounts.api_calls.append(
                    {
                        "path": path,
                        "query": parse_qs(urlsplit(self.path).query),
                        "authorization": self.headers.get("Authorization"),
                        "region": self.headers.get("X-Region"),
                        "body": self._body,
                        "connection": self.number,
                    }
                )
            if self._misdirected() or self._api_rate_limited():
                return
            if path.startswith("/v3.6/customer/action/"):  # Customer Chat API
                self._customer_action(path)
            else:
                self._agent_action(path)

        def _api_rate_limited(self) -> bool:
            """Messaging APIs, "Rate limits": 429 with ``too_many_requests``."""
            with accounts.lock:
                limited = accounts.api_rate_limited > 0
                accounts.api_rate_limited -= 1 if limited else 0
            if limited:
                retry = accounts.api_retry_after
                body = {"error": {"type": "too_many_requests", "message": "Too many requests"}}
                self._json(429, body, {"Retry-After": retry} if retry is not None else {})
            return limited

        def _agent_action(self, path: str) -> None:
            """The Web APIs an agent's bearer token or a Personal Access Token calls."""
            issued = self._bearer() or self._pat()
            if not path.startswith("/v3.6/") or issued is None:
                self._json(401, {"error": {"type": "authentication"}})
                return
            with accounts.lock:
                accounts.regions.append(self.headers.get("X-Region"))
            if path == "/v3.6/configuration/action/list_groups":  # Configuration API
                self._json(200, [{"id": 0, "name": "General"}])
            elif path.rsplit("/", 1)[1] in BOT_ACTIONS:
                method = getattr(self, f"_{path.rsplit('/', 1)[1]}")
                method(self._body if isinstance(self._body, dict) else {}, issued)
            elif path == "/v3.6/agent/action/list_chats":  # Agent Chat API (Web)
                with accounts.lock:
                    summary = [
                        {"id": chat_id, "last_thread_summary": {"active": active}}
                        for chat_id, active in accounts.chats.items()
                    ]
                answer = {"chats_summary": summary, "found_chats": len(summary)}
                self._json(200, answer | {"previous_page_id": None})
            elif path == "/v3.6/agent/action/start_chat":  # Agent Chat API: Start Chat
                self._json(200, accounts.start_chat())
            elif path in ("/v3.6/agent/action/resume_chat", "/v3.6/agent/action/deactivate_chat"):
                self._json(*accounts.chat_action(path.rsplit("/", 1)[1], self._body))
            elif path in ("/v3.6/agent/action/get_chat", "/v3.6/agent/action/transfer_chat"):
                # Agent Chat API (Web): Get Chat, Transfer Chat, of the chat a customer started.
                body = self._body
                chat_id = body.get("chat_id", body.get("id")) if isinstance(body, dict) else None
                if chat_id != "CHAT1" and chat_id not in accounts.chats:
                    self._json(404, {"error": {"type": "not_found", "message": "Chat not found"}})
                elif path.endswith("get_chat"):
                    self._json(200, {"id": chat_id, "thread": {"id": "THREAD1"}})
                else:
                    self._json(200, {})
            else:
                self._json(404, {"error": {"type": "not_found"}})

        # Configuration API v3.6 > Bots, and Agent Chat API v3.6 > Set Routing Status. Errors
        # as the Messaging APIs word them: {"error": {"type", "message"}}. The caller is a
        # bearer token's Issued, or a PAT's account id.

        def _fail(self, status: int, kind: str, message: str) -> None:
            self._json(status, {"error": {"type": kind, "message": message}})

        def _create_bot(self, body: dict[str, Any], caller: Issued | str) -> None:
            """Create Bot: scope ``agents-bot--my:rw`` (or ``--all``); ``owner_client_id``
            required with a PAT (with a bearer token, the token's client by default)."""
            issued = caller if isinstance(caller, Issued) else None
            allowed = issued is None or any(
                scope in issued.scope.split(",")
                for scope in ("agents-bot--my:rw", "agents-bot--all:rw")
            )
            owner = body.get("owner_client_id") or (issued.client_id if issued else None)
            if not allowed:
                self._fail(403, "authorization", "Scope agents-bot--my:rw is required")
            elif not isinstance(body.get("name"), str) or not owner:
                self._fail(400, "validation", "name and owner_client_id are required")
            else:
                bot_id, secret = secrets.token_hex(16), secrets.token_hex(16)
                organization = issued.organization_id if issued else "org-1"
                with accounts.lock:
                    accounts.bots[bot_id] = Bot(body["name"], secret, owner, organization)
                self._json(200, {"id": bot_id, "secret": secret})

        def _issue_bot_token(self, body: dict[str, Any], caller: Issued | str) -> None:
            """Issue Bot Token: ``bot_id``, ``client_id``, ``bot_secret``, ``organization_id``;
            a JWT-shaped token valid 24 hours, which the Agent Chat API takes (and RTM does
            not)."""
            wanted = ("bot_id", "client_id", "bot_secret", "organization_id")
            with accounts.lock:
                bot = accounts.bots.get(str(body.get("bot_id")))
            if not all(isinstance(body.get(key), str) for key in wanted):
                self._fail(400, "validation", "bot_id, client_id, bot_secret, organization_id")
            elif bot is None:
                self._fail(404, "not_found", "Bot not found")
            elif body["organization_id"] != bot.organization_id:
                self._fail(403, "authorization", "The bot belongs to another organization")
            elif body["bot_secret"] != bot.secret:
                self._fail(403, "authorization", "Invalid bot secret")
            else:
                token = _jwt_shaped(body["bot_id"])
                scope = "chats--access:rw,agents-bot--my:rw,customers:rw"  # the docs' three
                with accounts.lock:
                    accounts.bot_tokens[token] = body["bot_id"]
                    accounts.tokens[token] = Issued(
                        body["client_id"],
                        86400,
                        scope,
                        account_id=body["bot_id"],
                        organization_id=bot.organization_id,
                    )
                self._json(200, {"token": token})

        def _delete_bot(self, body: dict[str, Any], caller: Issued | str) -> None:
            """Delete Bot: 200 with no payload."""
            with accounts.lock:
                found = accounts.bots.pop(str(body.get("id")), None)
            if found is None:
                self._fail(404, "not_found", "Bot not found")
            else:
                self._send(200, b"", {})

        def _list_bots(self, body: dict[str, Any], caller: Issued | str) -> None:
            """List Bots: the organization's bots (id, name)."""
            organization = "org-1" if isinstance(caller, str) else caller.organization_id
            with accounts.lock:
                listed = [
                    {"id": bot_id, "name": bot.name}
                    for bot_id, bot in accounts.bots.items()
                    if bot.organization_id == organization
                ]
            self._json(200, listed)

        def _set_routing_status(self, body: dict[str, Any], caller: Issued | str) -> None:
            """Set Routing Status: a bot token sets its own status; an agent names the bot."""
            token = self.headers.get("Authorization", "").partition(" ")[2]
            with accounts.lock:
                bot_id = accounts.bot_tokens.get(token) or str(body.get("agent_id"))
                bot = accounts.bots.get(bot_id)
                if bot is not None and isinstance(body.get("status"), str):
                    bot.routing_status = body["status"]
            if bot is None:
                self._fail(404, "not_found", "Agent not found")
            else:
                self._json(200, {})

        def _misdirected(self) -> bool:
            """Messaging APIs, "Possible errors": ``misdirected_request`` ("Wrong region") names
            the license's region in ``data.region``."""
            region = accounts.license_region
            if region is None or self.headers.get("X-Region") == region:
                return False
            error = {"type": "misdirected_request", "message": "Wrong region"}
            self._json(421, {"error": error | {"data": {"region": region}}})
            return True

        def _pat(self) -> str | None:
            """Personal Access Tokens docs: Basic auth, Base64 of ``<account_id>:<token>``."""
            scheme, _, value = self.headers.get("Authorization", "").partition(" ")
            with accounts.lock:
                return accounts.pats.get(value) if scheme == "Basic" else None

        def _customer_action(self, path: str) -> None:
            """Customer Chat API: a customer token, and ``organization_id`` in the query."""
            scheme, _, token = self.headers.get("Authorization", "").partition(" ")
            with accounts.lock:
                entity = accounts.customer_tokens.get(token) if scheme == "Bearer" else None
            query = parse_qs(urlsplit(self.path).query)
            if entity is None:
                self._json(401, {"error": {"type": "authentication"}})
            elif query.get("organization_id") != ["org-1"]:
                self._json(400, {"error": {"type": "validation", "message": "organization_id"}})
            elif path == "/v3.6/customer/action/start_chat":  # Customer Chat API: Start Chat
                self._json(200, accounts.start_chat() | {"entity": entity})
            elif path.endswith(("/resume_chat", "/deactivate_chat")):
                self._json(*accounts.chat_action(path.rsplit("/", 1)[1], self._body))
            else:
                self._json(200, {"chat_id": "CHAT1", "thread_id": "THREAD1", "entity": entity})

        def _customer_token_endpoint(self) -> None:
            """Customer authorization docs, Agent token grant: POST /v2/customer/token with an
            agent token (``customers:own``) and JSON ``grant_type=agent_token, client_id,
            response_type=token`` (+ ``entity_id`` for an existing customer). The docs give no
            error bodies here; the answers follow the Global Accounts API's: 401 for a bad agent
            token, 403 ``invalid_scope`` ("insufficient scope", Authorization troubleshooting)
            without ``customers:own``, 400 ``invalid_request`` for a bad body or entity."""
            issued = self._bearer()
            if issued is None:
                self._error(401, "invalid_token", "Invalid access token")
                return
            if "customers:own" not in issued.scope.split(","):
                self._error(403, "invalid_scope", "The customers:own scope is required")
                return
            try:
                body = json.loads(self._raw or b"{}")
            except ValueError:
                body = None
            ok = (
                isinstance(body, dict)
                and body.get("grant_type") == "agent_token"
                and body.get("response_type") == "token"
                and body.get("client_id") == issued.client_id
            )
            entity_id = body.get("entity_id") if isinstance(body, dict) else None
            with accounts.lock:
                known = entity_id is None or entity_id in accounts.customer_ids
            if not ok or not known:
                self._error(400, "invalid_request", "Invalid request")
                return
            entity_id = entity_id or str(uuid.uuid4())
            token = f"dal:cust-{secrets.token_urlsafe(20)}"
            with accounts.lock:
                accounts.customer_ids.add(entity_id)
                accounts.customer_tokens[token] = entity_id
            self._json(
                200,
                {
                    "access_token": token,
                    "client_id": issued.client_id,
                    "entity_id": entity_id,
                    "expires_in": accounts.customer_expires_in,
                    "token_type": "Bearer",
                    "organization_id": issued.organization_id,
                },
            )

        def _token_endpoint(self) -> None:
            """Global Accounts API: POST /v2/token (authorization_code with code_verifier, and
            refresh_token; refresh tokens rotate and work once); errors 401/403/422/429."""
            with accounts.lock:
                limited = accounts.rate_limited > 0
                accounts.rate_limited -= 1 if limited else 0
            if limited:
                self._error(429, "temporarily_unavailable", "Too many requests")
                return
            form = {k: v[0] for k, v in parse_qs(self._raw.decode()).items()}
            grant_type = form.get("grant_type")
            refresh = form.get("refresh_token", "")
            with accounts.lock:
                if grant_type == "authorization_code":
                    code = accounts.codes.get(form.get("code", ""))
                    fresh = code is not None and not code.used
                    if code is not None:
                        code.used = True
                    ok = (
                        fresh
                        and code is not None
                        and code.client_id == form.get("client_id")
                        and code.redirect_uri == form.get("redirect_uri")
                        and _pkce_ok(code, form.get("code_verifier", ""))
                    )
                    client_id = code.client_id if code else ""
                    user = code.account_id if code else ""
                elif grant_type == "refresh_token":
                    accounts.refresh_calls += 1
                    rotates = (
                        accounts.rotate and form.get("client_id") not in accounts.client_secrets
                    )
                    if rotates:
                        old_access = accounts.refresh_tokens.pop(refresh, None)
                    else:
                        old_access = accounts.refresh_tokens.get(refresh)
                    issued = accounts.tokens.get(old_access or "")
                    ok = issued is not None and issued.client_id == form.get("client_id")
                    client_id = issued.client_id if issued else ""
                    user = issued.account_id if issued else ""
                else:
                    ok, client_id, user = False, "", ""
            if grant_type not in ("authorization_code", "refresh_token"):
                # Global Accounts API spec: unsupported_grant_type is a 403 (Forbidden).
                self._error(403, "unsupported_grant_type", "Unsupported grant type")
                return
            secret = accounts.client_secrets.get(form.get("client_id", ""))
            if secret is not None and form.get("client_secret") != secret:
                self._error(401, "invalid_client", "Invalid client credentials")
                return
            if not ok and secret is not None and grant_type == "refresh_token":
                # Authorization > Troubleshooting: a server-side app's refresh token LiveChat no
                # longer has is unauthorized_client, "refresh token not found".
                self._error(400, "unauthorized_client", "refresh token not found")
                return
            if not ok:
                self._error(401, "invalid_grant", "Invalid or expired grant")
                return
            answer = accounts.pair(client_id, user)
            if grant_type == "refresh_token" and not (accounts.rotate and secret is None):
                with accounts.lock:
                    del accounts.refresh_tokens[answer.pop("refresh_token")]
                    accounts.refresh_tokens[refresh] = answer["access_token"]
            self._json(200, answer)

        def do_DELETE(self) -> None:
            """Global Accounts API: DELETE /v2/token revokes the access or refresh token in the
            Authorization header (an access token takes its refresh token with it): 200 {}."""
            path = self._record()
            if self._fixed(path):
                return
            token = self.headers.get("Authorization", "").partition(" ")[2]
            if path == "/v2/customer/token":  # customer accounts API: revokes a customer token
                with accounts.lock:
                    found = accounts.customer_tokens.pop(token, None) is not None
                if found:
                    self._json(200, {})
                else:
                    self._error(401, "invalid_token", "Invalid access token")
                return
            issued = self._bearer() if path == "/v2/token" else None
            with accounts.lock:
                if issued is not None:
                    issued.revoked = True
                    for refresh, access in list(accounts.refresh_tokens.items()):
                        if access == token:
                            del accounts.refresh_tokens[refresh]
                    found = True
                else:
                    found = accounts.refresh_tokens.pop(token, None) is not None
            if not found:
                self._error(404, "invalid_token", "Token not found")
                return
            self._json(200, {})

    return Handler
