"""Loopback capture: when the redirect URI is ``http://localhost:PORT/...`` (or 127.0.0.1), the
browser lands on a small page of ours that hands the login answer back, so nobody has to paste.

The server listens on the loopback addresses only (for ``localhost``, on every address it
stands for, 127.0.0.1 and ::1, so that no other local user can take one of them and catch the
browser's answer), serves that page and nothing else, logs no request and prints no error
(tokens travel here), gives each connection a few seconds, and stops when the login ends
without making the login wait for it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import queue
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

_LOOPBACK_HOSTS = {"localhost": ("127.0.0.1", "::1"), "127.0.0.1": ("127.0.0.1",)}
_MAX_BODY = 16384
_REPLY_WAIT = 30.0
_CONNECTION_TIMEOUT = 5.0
_MAX_CONNECTIONS = 16

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>LiveChat login - pytest-livechat-token</title>
<meta name="viewport" content="width=device-width"></head>
<body style="font-family: sans-serif; margin: 3em">
<p id="message">Handing the LiveChat login to pytest…</p>
<script>
(function () {
  var answer = location.hash.slice(1) || location.search.slice(1);
  var show = function (text) { document.getElementById("message").textContent = text; };
  if (!answer) {
    show("This address carries no login answer. Return to your terminal.");
    return;
  }
  fetch(location.pathname, {method: "POST", headers: {"Content-Type": "text/plain"}, body: answer})
    .then(function (response) {
      if (response.ok) { history.replaceState(null, "", location.pathname); }
      return response.text();
    })
    .then(show)
    .catch(function () {
      show("Could not reach pytest: copy this page's address and paste it in your terminal.");
    });
})();
</script></body></html>
"""


@dataclass(frozen=True)
class LoopbackTarget:
    host: str
    port: int
    path: str

    @property
    def addresses(self) -> tuple[str, ...]:
        """Every address the redirect URI's host stands for: all of them are listened on."""
        return _LOOPBACK_HOSTS[self.host]


def loopback_target(redirect_uri: str) -> LoopbackTarget | None:
    """Where to listen for ``redirect_uri``, or None when it is not a loopback ``http`` URI."""
    try:
        parts = urlsplit(redirect_uri)
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname or ""
    if parts.scheme != "http" or host not in _LOOPBACK_HOSTS or port is None:
        return None
    return LoopbackTarget(host, port, parts.path or "/")


@dataclass
class Answer:
    """A login answer the browser sent; ``reply`` goes back to the browser's page."""

    text: str = field(repr=False)
    _replies: queue.Queue[str] = field(repr=False)

    def reply(self, message: str) -> None:
        self._replies.put(message)


class _Server(ThreadingHTTPServer):
    """One connection a thread, at most ``_MAX_CONNECTIONS`` at once; silent about errors."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: str, port: int, handler: type[BaseHTTPRequestHandler]) -> None:
        self.address_family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self._slots = threading.BoundedSemaphore(_MAX_CONNECTIONS)
        super().__init__((address, port), handler)

    def server_bind(self) -> None:
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        super().server_bind()

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Nothing is printed: a traceback could hold what the browser sent."""


def _unavailable(error: OSError) -> bool:
    """Whether binding failed because this machine has no such address (no IPv6): then no
    other user can listen there either."""
    return error.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT)


class LoopbackReceiver:
    """A tiny HTTP server on the redirect URI's loopback address(es), for one login.

    Raises ``OSError`` when one of the addresses is taken (by anyone, another user included):
    the login then falls back to pasting.
    """

    def __init__(self, target: LoopbackTarget) -> None:
        self.target = target
        self.answers: queue.Queue[Answer] = queue.Queue()
        self._servers: list[_Server] = []
        self._serving = False
        try:
            for address in target.addresses:
                try:
                    self._servers.append(_Server(address, target.port, _handler(self)))
                except OSError as error:
                    if address == target.addresses[0] or not _unavailable(error):
                        raise
        except OSError:
            self._stop_servers()
            raise
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        for server in self._servers:
            threading.Thread(
                target=server.serve_forever, name="livechat-loopback", daemon=True
            ).start()
        self._serving = True

    @property
    def wake_fd(self) -> int:
        """Readable once an answer has arrived."""
        return self._wake_read

    def take(self) -> Answer | None:
        with contextlib.suppress(OSError):
            os.read(self._wake_read, 1)
        try:
            return self.answers.get_nowait()
        except queue.Empty:
            return None

    def _deliver(self, text: str) -> str:
        replies: queue.Queue[str] = queue.Queue()
        self.answers.put(Answer(text, replies))
        with contextlib.suppress(OSError):
            os.write(self._wake_write, b"!")
        try:
            return replies.get(timeout=_REPLY_WAIT)
        except queue.Empty:
            return "pytest did not answer in time: return to your terminal."

    def close(self) -> None:
        """Stop listening. Bounded: each connection has its own thread, so a server's loop
        is never held up by a client and stops within its poll interval (0.5 s)."""
        while (answer := self.take()) is not None:
            answer.reply("This login has ended: return to your terminal.")
        self._stop_servers()

    def _stop_servers(self) -> None:
        for server in self._servers:
            with contextlib.suppress(Exception):
                if self._serving:  # shutdown() would wait forever for a loop never started
                    server.shutdown()
                server.server_close()
        for descriptor in (getattr(self, "_wake_read", None), getattr(self, "_wake_write", None)):
            if descriptor is not None:
                with contextlib.suppress(OSError):
                    os.close(descriptor)


def _handler(receiver: LoopbackReceiver) -> type[BaseHTTPRequestHandler]:
    target = receiver.target
    origins = {f"http://{name}:{target.port}" for name in ("localhost", "127.0.0.1", "[::1]")}

    class Handler(BaseHTTPRequestHandler):
        timeout = _CONNECTION_TIMEOUT  # a connection that idles or trickles is dropped

        def log_message(self, format: str, *args: Any) -> None:
            """Nothing is logged: request lines and bodies carry tokens."""

        def _send(self, status: int, body: str, content_type: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", f"{content_type}; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header(
                "Content-Security-Policy",
                "default-src 'none'; script-src 'unsafe-inline'; connect-src 'self'",
            )
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if urlsplit(self.path).path != target.path:
                self._send(404, "Not found.", "text/plain")
                return
            self._send(200, PAGE, "text/html")

        def do_POST(self) -> None:
            origin = self.headers.get("Origin")
            raw_length = self.headers.get("Content-Length") or "0"
            length = int(raw_length) if raw_length.isascii() and raw_length.isdigit() else -1
            if (
                urlsplit(self.path).path != target.path
                or (origin is not None and origin not in origins)
                or not 0 < length <= _MAX_BODY
            ):
                self._send(403, "Refused.", "text/plain")
                return
            text = self.rfile.read(length).decode("utf-8", "replace")
            self._send(200, receiver._deliver(text), "text/plain")

    return Handler
