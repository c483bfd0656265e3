"""A real HTTP server on 127.0.0.1 that plays the LiveChat accounts server for the tests."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit


@dataclass
class Issued:
    client_id: str
    expires_in: int
    scope: str
    revoked: bool = False


@dataclass
class Code:
    client_id: str
    redirect_uri: str
    challenge: str | None
    method: str
    used: bool = False


@dataclass
class AccountsServer:
    """Tokens it issued, and every request it saw (method, path)."""

    access_expires_in: int = 28800  # what the code grant's token answers say
    tokens: dict[str, Issued] = field(default_factory=dict)
    codes: dict[str, Code] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh token -> its access
    refresh_calls: int = 0
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
        scope: str = "chats--all:ro agents--all:rw",
    ) -> str:
        token = f"{region}:{secrets.token_urlsafe(27)}"
        with self.lock:
            self.tokens[token] = Issued(client_id, expires_in, scope)
        return token

    def pair(self, client_id: str = "client-1") -> dict[str, Any]:
        """A new access token and its refresh token, as ``POST /v2/token`` answers."""
        access = self.issue(client_id, expires_in=self.access_expires_in)
        refresh = f"dal:refresh-{secrets.token_urlsafe(20)}"
        with self.lock:
            self.refresh_tokens[refresh] = access
        return {
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": self.access_expires_in,
            "scope": self.tokens[access].scope,
            "token_type": "Bearer",
            "account_id": "acc-1",
            "organization_id": "org-1",
        }

    def count(self, method: str, path: str) -> int:
        with self.lock:
            return sum(1 for seen in self.requests if seen == (method, path))

    def start(self) -> AccountsServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, name="accounts", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


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


def _pkce_ok(code: Code, verifier: str) -> bool:
    if code.challenge is None:
        return False
    if code.method == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == code.challenge
    return code.method == "plain" and verifier == code.challenge


def _handler_for(accounts: AccountsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Silent: request lines may carry tokens."""

        def _record(self) -> str:
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

        def _json(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            path = self._record()
            if path == "/v2/info":
                issued = self._bearer()
                if issued is None:
                    self._json(401, {"error": "invalid_token"})
                    return
                self._json(
                    200,
                    {
                        "access_token": self.headers["Authorization"].split(" ", 1)[1],
                        "account_id": "acc-1",
                        "client_id": issued.client_id,
                        "expires_in": issued.expires_in,
                        "organization_id": "org-1",
                        "scope": issued.scope,
                        "token_type": "Bearer",
                    },
                )
                return
            if path == "/":
                query = parse_qs(urlsplit(self.path).query)
                client_id = query.get("client_id", [""])[0]
                redirect_uri = query.get("redirect_uri", [""])[0]
                state = query.get("state", [None])[0]
                if query.get("response_type") == ["code"]:
                    code = f"dal:code-{secrets.token_urlsafe(12)}"
                    with accounts.lock:
                        accounts.codes[code] = Code(
                            client_id,
                            redirect_uri,
                            query.get("code_challenge", [None])[0],
                            query.get("code_challenge_method", ["plain"])[0],
                        )
                    location = f"{redirect_uri}?code={quote(code, safe='')}&state={state}"
                else:
                    token = accounts.issue(client_id)
                    location = redirect_uri + redirect_fragment(token, state)
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:
            path = self._record()
            if path == "/v2/token":
                self._token_endpoint()
                return
            issued = self._bearer()
            if not path.startswith("/v3.6/") or issued is None:
                self._json(401, {"error": {"type": "authentication"}})
                return
            length = int(self.headers.get("Content-Length", "0"))
            json.loads(self.rfile.read(length) or b"{}")
            with accounts.lock:
                accounts.regions.append(self.headers.get("X-Region"))
            if path == "/v3.6/configuration/action/list_groups":
                self._json(200, [{"id": 0, "name": "General"}])
                return
            self._json(404, {"error": {"type": "not_found"}})

        def _token_endpoint(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            grant_type = form.get("grant_type")
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
                elif grant_type == "refresh_token":
                    accounts.refresh_calls += 1
                    old_access = accounts.refresh_tokens.pop(form.get("refresh_token", ""), None)
                    issued = accounts.tokens.get(old_access or "")
                    ok = issued is not None and issued.client_id == form.get("client_id")
                    client_id = issued.client_id if issued else ""
                else:
                    ok, client_id = False, ""
            if not ok:
                self._json(400, {"error": "invalid_grant"})
                return
            self._json(200, accounts.pair(client_id))

        def do_DELETE(self) -> None:
            path = self._record()
            issued = self._bearer() if path == "/v2/token" else None
            if issued is None:
                self._json(401, {"error": "invalid_token"})
                return
            issued.revoked = True
            with accounts.lock:  # LiveChat revokes the refresh token with its access token
                for refresh, access in list(accounts.refresh_tokens.items()):
                    if access == self.headers["Authorization"].split(" ", 1)[1]:
                        del accounts.refresh_tokens[refresh]
            self.send_response(204)
            self.end_headers()

    return Handler
