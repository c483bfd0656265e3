"""``loopback.LoopbackReceiver`` in-process: it cannot be hijacked or hung."""

from __future__ import annotations

import select
import socket
import threading
from pathlib import Path

import httpx
import pytest

from pytest_livechat_token._auth.loopback import LoopbackReceiver, LoopbackTarget

from ...support.accounts_server import AccountsServer, redirect_fragment
from ...support.helpers import free_port
from ...support.inprocess import (
    paste_for,
    source_for,
)
from ...support.scripted import ScriptedTerminal, Step


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


ipv6 = pytest.mark.skipif(not has_ipv6_loopback(), reason="no ::1 on this machine")


@ipv6
def test_localhost_is_listened_on_at_both_addresses() -> None:
    port = free_port()
    receiver = LoopbackReceiver(LoopbackTarget("localhost", port, "/cb"))
    try:
        for family, address in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            with socket.socket(family) as taken, pytest.raises(OSError, match="in use"):
                taken.bind((address, port))
    finally:
        receiver.close()


@ipv6
def test_a_squatter_on_ipv6_loopback_turns_capture_off() -> None:
    port = free_port()
    with socket.socket(socket.AF_INET6) as squatter:
        squatter.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        squatter.bind(("::1", port))
        squatter.listen()
        with pytest.raises(OSError, match="in use"):
            LoopbackReceiver(LoopbackTarget("localhost", port, "/cb"))
    # and 127.0.0.1 was let go again
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))


def test_an_idle_connection_neither_blocks_answers_nor_the_close(
    capfd: pytest.CaptureFixture[str],
) -> None:
    port = free_port()
    receiver = LoopbackReceiver(LoopbackTarget("127.0.0.1", port, "/cb"))
    idle = socket.create_connection(("127.0.0.1", port))
    trickle = socket.create_connection(("127.0.0.1", port))
    trickle.sendall(b"POST /cb HTTP/1.1\r\nContent-Length: 50\r\n\r\nabc")
    with socket.create_connection(("127.0.0.1", port)) as bad:
        bad.sendall(b"POST /cb HTTP/1.1\r\nContent-Length: zz\r\n\r\nx")
        assert bad.recv(100).startswith(b"HTTP/1.0 403")
    replies: list[str] = []
    poster = threading.Thread(
        target=lambda: replies.append(
            httpx.post(f"http://127.0.0.1:{port}/cb", content="state=s&a=1", timeout=30).text
        )
    )
    poster.start()
    select.select([receiver.wake_fd], [], [], 30)
    answer = receiver.take()
    assert answer is not None
    assert answer.text == "state=s&a=1"
    answer.reply("thanks")
    poster.join(30)
    assert replies == ["thanks"]
    closer = threading.Thread(target=receiver.close)
    closer.start()
    closer.join(30)
    assert not closer.is_alive(), "close() waits for no client"
    idle.close()
    trickle.close()
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err + captured.out


def test_answers_of_other_logins_use_no_try_and_say_nothing(
    accounts: AccountsServer, tmp_path: Path
) -> None:
    port = free_port()
    redirect = f"http://127.0.0.1:{port}/cb"
    token = accounts.issue()
    ref: list[ScriptedTerminal] = []

    def browser_sends(state_of: str) -> Step:
        def step(wake: int | None) -> None:
            assert wake is not None
            state = (
                "forged" if state_of == "forged" else paste_for(ref[0], token).split("state=")[1]
            )
            body = redirect_fragment(token, state)[1:]
            threading.Thread(
                target=lambda: httpx.post(redirect, content=body, timeout=30), daemon=True
            ).start()
            select.select([wake], [], [], 30)

        return step

    terminal = ScriptedTerminal([browser_sends("forged") for _ in range(5)] + [browser_sends("ok")])
    ref.append(terminal)
    source = source_for(accounts, tmp_path / "c" / "t.json", terminal, redirect_uri=redirect)
    assert source.token() == token
    assert terminal.prompts == 6
    assert "tries left" not in terminal.text
    assert "another login" not in terminal.text
