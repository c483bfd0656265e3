"""Loopback capture: when the redirect URI is ``http://localhost:PORT/...`` (or 127.0.0.1), the
browser lands on a small page of ours that hands the login answer back, so nobody has to paste.

The server listens on the loopback address only, serves that page and nothing else, logs no
request (tokens travel here), and stops when the login ends.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import urlsplit

_LOOPBACK_HOSTS = {"localhost": "127.0.0.1", "127.0.0.1": "127.0.0.1"}
_MAX_BODY = 16384
_REPLY_WAIT = 30.0

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


def loopback_target(redirect_uri: str) -> LoopbackTarget | None:
    """Where to listen for ``redirect_uri``, or None when it is not a loopback ``http`` URI."""
    try:
        parts = urlsplit(redirect_uri)
        port = parts.port
    except ValueError:
        return None
    host = _LOOPBACK_HOSTS.get(parts.hostname or "")
    if parts.scheme != "http" or host is None or port is None:
        return None
    return LoopbackTarget(host, port, parts.path or "/")


@dataclass
class Answer:
    """A login answer the browser sent; ``reply`` goes back to the browser's page."""

    text: str = field(repr=False)
    _replies: queue.Queue[str] = field(repr=False)

    def reply(self, message: str) -> None:
        self._replies.put(message)


class LoopbackReceiver:
    """A tiny HTTP server on the redirect URI's loopback address, for one login."""

    def __init__(self, target: LoopbackTarget) -> None:
        self.target = target
        self.answers: queue.Queue[Answer] = queue.Queue()
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        self._server = HTTPServer((target.host, target.port), _handler(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="livechat-loopback", daemon=True
        )
        self._thread.start()

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
        os.write(self._wake_write, b"!")
        try:
            return replies.get(timeout=_REPLY_WAIT)
        except queue.Empty:
            return "pytest did not answer in time: return to your terminal."

    def close(self) -> None:
        while (answer := self.take()) is not None:
            answer.reply("This login has ended: return to your terminal.")
        self._server.shutdown()
        self._server.server_close()
        os.close(self._wake_read)
        os.close(self._wake_write)


def _handler(receiver: LoopbackReceiver) -> type[BaseHTTPRequestHandler]:
    target = receiver.target
    origins = {f"http://{name}:{target.port}" for name in _LOOPBACK_HOSTS}

    class Handler(BaseHTTPRequestHandler):
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
            length = int(self.headers.get("Content-Length") or 0)
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
