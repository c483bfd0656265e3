"""Loopback capture: the browser's answer is picked up on a loopback redirect URI."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pexpect
import pytest

from pytest_livechat_token._auth.loopback import LoopbackTarget, loopback_target

from ..support.accounts_server import AccountsServer, redirect_fragment
from ..support.helpers import (
    CHROMIUM_FLAGS,
    Spawner,
    chromium,
    expect_token,
    free_port,
    outcomes,
    prompt_state,
    read_login_url,
)


@pytest.mark.parametrize(
    ("uri", "target"),
    [
        ("http://localhost:8765", LoopbackTarget("localhost", 8765, "/")),
        ("http://localhost:8765/", LoopbackTarget("localhost", 8765, "/")),
        ("http://127.0.0.1:9000/callback", LoopbackTarget("127.0.0.1", 9000, "/callback")),
        ("https://localhost", None),
        ("https://localhost:8443/cb", None),
        ("http://localhost", None),
        ("http://example.com:8765/", None),
        ("http://10.0.0.1:8765/", None),
        ("http://localhost:99999/", None),
    ],
)
def test_loopback_target(uri: str, target: LoopbackTarget | None) -> None:
    assert loopback_target(uri) == target


@pytest.fixture
def redirect() -> str:
    return f"http://127.0.0.1:{free_port()}/callback"


def test_answer_posted_by_the_page_logs_in(
    project: pytest.Pytester,
    terminal: Spawner,
    accounts: AccountsServer,
    monkeypatch: pytest.MonkeyPatch,
    redirect: str,
) -> None:
    token = accounts.issue()
    expect_token(monkeypatch, token)
    child = terminal.spawn(f"--livechat-redirect-uri={redirect}")
    _, state = read_login_url(child)
    child.expect("Waiting for the browser, or paste the address")
    page = httpx.get(redirect)
    assert page.status_code == 200
    assert "location.hash" in page.text
    assert "no-store" in page.headers["Cache-Control"]
    assert httpx.get(redirect.replace("/callback", "/other")).status_code == 404
    foreign = httpx.post(redirect, content="x", headers={"Origin": "http://evil.test"})
    assert foreign.status_code == 403

    stale = httpx.post(redirect, content=redirect_fragment(token, "old-state")[1:], timeout=30)
    assert stale.text == "Not the answer of the login in progress: return to your terminal."

    answer = httpx.post(redirect, content=redirect_fragment(token, state)[1:], timeout=30)
    assert answer.text == "Logged in to LiveChat: you can close this tab."
    child.expect("Received the login from the browser")
    child.expect(pexpect.EOF)
    out = terminal.transcript()
    assert outcomes(out) == {"passed": 1}
    assert token not in out
    assert "another login attempt" not in out, "a foreign answer says nothing on the terminal"
    assert "tries left" not in out, "and uses up no try"
    port = urlsplit(redirect).port
    assert port is not None
    with pytest.raises(ConnectionRefusedError):  # the server stopped with the login
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_answer_without_state_is_not_taken_from_the_browser(
    project: pytest.Pytester, terminal: Spawner, accounts: AccountsServer, redirect: str
) -> None:
    token = accounts.issue()
    child = terminal.spawn(f"--livechat-redirect-uri={redirect}")
    read_login_url(child)
    child.expect("Waiting for the browser")
    reply = httpx.post(redirect, content=redirect_fragment(token, None)[1:], timeout=30)
    assert reply.text == "Not the answer of the login in progress: return to your terminal."
    child.sendintr()  # the login still waits for its own answer: end it
    child.expect(pexpect.EOF)
    assert "Received the login from the browser" not in terminal.transcript()


def test_pasting_still_works(
    project: pytest.Pytester,
    terminal: Spawner,
    accounts: AccountsServer,
    monkeypatch: pytest.MonkeyPatch,
    redirect: str,
) -> None:
    token = accounts.issue()
    expect_token(monkeypatch, token)
    child = terminal.spawn(f"--livechat-redirect-uri={redirect}")
    _, state = read_login_url(child)
    child.expect("Waiting for the browser, or paste the address")
    child.sendline(redirect + redirect_fragment(token, state))
    child.expect(pexpect.EOF)
    assert outcomes(terminal.transcript()) == {"passed": 1}


def test_busy_port_falls_back_to_paste(
    project: pytest.Pytester,
    terminal: Spawner,
    accounts: AccountsServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = accounts.issue()
    expect_token(monkeypatch, token)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        redirect = f"http://localhost:{busy.getsockname()[1]}/"
        child = terminal.spawn(f"--livechat-redirect-uri={redirect}")
        child.expect(r"Cannot listen on localhost:\d+ \(.*\), so the browser's answer")
        state = prompt_state(child)
        child.sendline(redirect + redirect_fragment(token, state))
        child.expect(pexpect.EOF)
    assert outcomes(terminal.transcript()) == {"passed": 1}


@pytest.fixture
def headless_browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """BROWSER: a wrapper that opens the address in a real headless Chromium, as a person would.

    Returns the file where Chromium writes the page it ended on (its DOM).
    """
    browser = chromium()
    dom, log, profile = tmp_path / "dom.html", tmp_path / "chromium.log", tmp_path / "profile"
    flags = " ".join(
        [*CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=20000", "--dump-dom"]
    )
    wrapper = tmp_path / "browser.sh"
    wrapper.write_text(f'#!/bin/sh\n({browser} {flags} "$1" > {dom} 2> {log}) &\n')
    wrapper.chmod(0o700)
    monkeypatch.setenv("BROWSER", str(wrapper))
    return dom


@pytest.mark.parametrize(
    ("grant", "host"), [("implicit", "127.0.0.1"), ("code", "127.0.0.1"), ("implicit", "localhost")]
)
def test_end_to_end_in_headless_chromium(
    project: pytest.Pytester,
    terminal: Spawner,
    accounts: AccountsServer,
    headless_browser: Path,
    redirect: str,
    cache_file: Path,
    grant: str,
    host: str,
) -> None:
    redirect = redirect.replace("127.0.0.1", host)
    # Registered without the path: LiveChat allows a path that contains the registered one.
    accounts.redirect_uris["client-1"] = [redirect.removesuffix("/callback")]
    project.makepyfile(
        test_user="def test_uses_token(livechat_bearer):\n    assert livechat_bearer.region\n"
    )
    child = terminal.spawn(
        f"--livechat-redirect-uri={redirect}", f"--livechat-grant={grant}", browser=True, timeout=60
    )
    child.expect("A browser window was opened for it")
    child.expect("Received the login from the browser")
    child.expect(pexpect.EOF)
    out = terminal.transcript()
    assert outcomes(out) == {"passed": 1}
    assert accounts.count("GET", "/") == 1  # the authorization endpoint, once
    # The implicit grant confirms its token at /v2/info; the code grant trades its code.
    assert accounts.count("GET", "/v2/info") == (grant == "implicit")
    assert accounts.count("POST", "/v2/token") == (grant == "code")
    issued = list(accounts.tokens)
    assert len(issued) == 1
    assert issued[0] not in out
    assert issued[0] in cache_file.read_text()
    for _ in range(100):  # Chromium writes the page once its fetch has been answered
        if "Logged in to LiveChat" in headless_browser.read_text():
            break
        time.sleep(0.2)
    assert "Logged in to LiveChat: you can close this tab." in headless_browser.read_text()
