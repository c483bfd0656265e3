"""The guided login, end to end: pytest in a real pseudo-terminal, a real accounts server."""

from __future__ import annotations

import json
import shlex
import threading
from pathlib import Path
from urllib.parse import quote

import pexpect
import pytest

from ..support.accounts_server import AccountsServer, redirect_fragment
from ..support.helpers import (
    Spawner,
    cache_token,
    expect_token,
    freeze_clock,
    outcomes,
    paste,
    paste_redirect,
    prompt_state,
    pytest_words,
    read_login_url,
)
from .test_secrets_in_reports import forms


def test_paste_redirect_then_cached_run(
    project: pytest.Pytester,
    terminal: Spawner,
    accounts: AccountsServer,
    cache_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = accounts.issue("client-1")
    expect_token(monkeypatch, token)
    freeze_clock(monkeypatch, project.path)
    child = terminal.spawn("-p", "frozen_clock")
    url, state = read_login_url(child)
    assert "response_type=token" in url
    assert "client_id=client-1" in url
    assert "redirect_uri=https%3A%2F%2Flocalhost" in url
    child.expect("Paste the address")
    paste(child, token, state)
    child.expect("Logged in to LiveChat: token valid for 8 h 0 min")
    child.expect(pexpect.EOF)
    assert outcomes(terminal.transcript()) == {"passed": 1}
    assert accounts.count("GET", "/v2/info") == 1

    stored = json.loads(cache_file.read_text())
    entry = stored["entries"][accounts.url]["client-1"]["default"]
    assert entry["access_token"] == token
    assert entry["scope"] == "chats--all:ro,agents--all:rw"
    assert cache_file.stat().st_mode & 0o777 == 0o600
    assert cache_file.parent.stat().st_mode & 0o777 == 0o700

    again = terminal.spawn()
    again.expect(pexpect.EOF)
    out = terminal.transcript()
    assert outcomes(out) == {"passed": 1}
    assert "Paste the address" not in out
    assert accounts.count("GET", "/v2/info") == 1, "a cached token needs no network call"
    shown = terminal.transcript(0) + out
    for form in (token, quote(token, safe="")):
        assert form not in shown, "the pasted token must not be echoed or printed"


def test_a_symlinked_cache_is_never_written(
    project: pytest.Pytester,
    terminal: Spawner,
    accounts: AccountsServer,
    cache_file: Path,
    tmp_path: Path,
) -> None:
    """The run says the cache "is not used": after the login it is still the link it was, and
    the file it points to (the user's store, with another account's pair) is as it was; the
    token serves the run, and the login says where nothing was stored and why."""
    store = tmp_path / "store.json"
    cache_token(store, accounts.url, accounts.issue(), account="other", refresh_token="r" * 20)
    before = store.read_bytes()
    cache_file.parent.mkdir(mode=0o700, parents=True)
    cache_file.symlink_to(store)
    child = terminal.spawn()
    paste_redirect(child, accounts.issue())
    child.expect(pexpect.EOF)
    out = terminal.transcript()
    assert outcomes(out) == {"passed": 1, "warnings": 1}
    assert "could not store the LiveChat token in" in out
    assert "Not stored (it is a symbolic link): kept for this run only." in out
    assert cache_file.is_symlink()
    assert store.read_bytes() == before


@pytest.mark.parametrize(
    "paste",
    [
        pytest.param(redirect_fragment, id="fragment"),
        pytest.param(lambda token, state: quote(token, safe=""), id="encoded-token"),
        pytest.param(lambda token, state: token, id="bare-token"),
    ],
)
def test_other_paste_forms(
    project: pytest.Pytester,
    terminal: Spawner,
    accounts: AccountsServer,
    monkeypatch: pytest.MonkeyPatch,
    paste: object,
) -> None:
    token = accounts.issue("client-1")
    expect_token(monkeypatch, token)
    child = terminal.spawn()
    state = prompt_state(child)
    child.sendline(paste(token, state))  # type: ignore[operator]
    child.expect(pexpect.EOF)
    assert outcomes(terminal.transcript()) == {"passed": 1}


def test_bad_answers_are_explained_and_asked_again(
    project: pytest.Pytester,
    terminal: Spawner,
    accounts: AccountsServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = accounts.issue("client-1")
    expect_token(monkeypatch, token)
    child = terminal.spawn()
    state = prompt_state(child)
    paste(child, token, "someone-elses-state")
    child.expect("belongs to another login attempt")
    child.expect(r"Try again \(2 tries left\)")
    child.sendline(
        "https://accounts.livechat.com/ooops?oauth_exception=invalid_request"
        "&exception_details=invalid_redirect_uri"
    )
    child.expect("is not one the app allows")
    child.expect(r"Try again \(1 try left\)")
    paste(child, token, state)
    child.expect(pexpect.EOF)
    assert outcomes(terminal.transcript()) == {"passed": 1}


def test_three_bad_answers_end_the_login(
    project: pytest.Pytester, terminal: Spawner, accounts: AccountsServer
) -> None:
    child = terminal.spawn()
    read_login_url(child)
    for _ in range(3):
        child.expect("Paste the address")
        child.sendline("")
        child.expect("Nothing was pasted")
    child.expect(pexpect.EOF)
    out = terminal.transcript()
    assert "stopped after 3 unusable answers" in out
    assert outcomes(out) == {"errors": 1}
    assert "Traceback" not in out


@pytest.mark.parametrize(
    ("client", "said"),
    [(None, "refused this token"), ("some-other-client", "belongs to another app")],
    ids=["not-issued", "another-app"],
)
def test_a_refused_token_gets_another_try(
    project: pytest.Pytester,
    terminal: Spawner,
    accounts: AccountsServer,
    monkeypatch: pytest.MonkeyPatch,
    client: str | None,
    said: str,
) -> None:
    """A token the server does not know, or one of another app: said, and asked again."""
    bad = accounts.issue(client) if client else "dal:NotIssuedByTheServer123"
    good = accounts.issue("client-1")
    expect_token(monkeypatch, good)
    child = terminal.spawn()
    state = prompt_state(child)
    paste(child, bad, state)
    child.expect(said)
    paste(child, good, state)
    child.expect(pexpect.EOF)
    assert outcomes(terminal.transcript()) == {"passed": 1}


def test_unreachable_accounts_server_uses_fragment_expiry(
    project: pytest.Pytester,
    terminal: Spawner,
    accounts: AccountsServer,
    cache_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = accounts.issue("client-1")
    expect_token(monkeypatch, token)
    accounts.stop()
    child = terminal.spawn()
    state = prompt_state(child)
    paste(child, token, state, expires_in=3600)
    child.expect("Could not confirm the token")
    child.expect("valid for 59 min")
    child.expect(pexpect.EOF)
    assert outcomes(terminal.transcript()) == {"passed": 1}
    assert cache_file.exists()


def test_unconfirmed_bare_token_is_used_but_not_cached(
    project: pytest.Pytester,
    terminal: Spawner,
    accounts: AccountsServer,
    cache_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = accounts.issue("client-1")
    expect_token(monkeypatch, token)
    accounts.stop()
    child = terminal.spawn()
    prompt_state(child)
    child.sendline(token)
    child.expect("for this run only")
    child.expect(pexpect.EOF)
    assert outcomes(terminal.transcript()) == {"passed": 1}
    assert not cache_file.exists() or "access_token" not in cache_file.read_text()


def test_prompt_timeout(
    project: pytest.Pytester, terminal: Spawner, accounts: AccountsServer
) -> None:
    child = terminal.spawn("--livechat-prompt-timeout=1")
    read_login_url(child)
    child.expect(pexpect.EOF)
    out = terminal.transcript()
    assert "No address was pasted within 1 s" in out
    assert "--livechat-prompt-timeout" in out
    assert "Traceback" not in out


LATE = """
import os, time

def test_waits_for_the_go():
    deadline = time.monotonic() + 60
    while not os.path.exists("go") and time.monotonic() < deadline:
        time.sleep(0.05)
"""


def test_a_prompt_that_times_out_says_so_and_leaves_nothing_behind(
    project: pytest.Pytester, terminal: Spawner, accounts: AccountsServer
) -> None:
    """It says so at once, where the person looks; a paste that comes late (while the run goes
    on) is not echoed, and does not reach the shell after pytest exits."""
    project.makepyfile(test_zlate=LATE)
    command = shlex.join(pytest_words(accounts.url, "--livechat-prompt-timeout=1"))
    script = f'{command}; read -r -t 2 line; echo "shell read: [$line]"'
    log = project.path / "shell.out"
    with log.open("wb") as transcript:
        child = pexpect.spawn(
            "bash", ["--norc", "--noprofile", "-c", script], cwd=str(project.path), timeout=60
        )
        child.logfile_read = transcript
        child.expect("No address was pasted within 1 s")
        child.expect("What you type now is not shown, and is dropped.")
        child.sendline("LATE-PASTE-https://localhost/#access_token=dal%3Alate")
        (project.path / "go").write_text("")
        child.expect(r"shell read: \[(.*)\]")
        read_by_shell = child.match.group(1)
        child.expect(pexpect.EOF)
    assert read_by_shell == b""
    out = log.read_bytes().decode("utf-8", "replace")
    assert "LATE-PASTE" not in out
    assert outcomes(out) == {"passed": 1, "errors": 1}


def test_end_of_input_before_the_prompt_shows_counts(
    project: pytest.Pytester, terminal: Spawner, accounts: AccountsServer
) -> None:
    """Ctrl-D typed as soon as the address is printed (a script, a fast typist), before the
    prompt itself shows, ends the login at once: it does not wait out the prompt's time."""
    child = terminal.spawn("--livechat-prompt-timeout=600")
    read_login_url(child)
    child.sendeof()
    child.expect("input ended before an address was pasted", timeout=60)
    child.expect(pexpect.EOF)


def test_end_of_input(
    project: pytest.Pytester, terminal: Spawner, accounts: AccountsServer
) -> None:
    child = terminal.spawn()
    prompt_state(child)
    child.sendeof()
    child.expect(pexpect.EOF)
    assert "input ended before an address was pasted" in terminal.transcript()


def test_ctrl_c_at_the_prompt_stops_the_run(
    pytester: pytest.Pytester, terminal: Spawner, accounts: AccountsServer
) -> None:
    """As Ctrl-C anywhere else in a pytest run: interrupted (exit code 2), no other test runs
    or asks again, one line and no traceback."""
    pytester.makepyfile(
        test_two="def test_one(livechat_bearer):\n    pass\n\n"
        "def test_two(livechat_bearer):\n    pass\n"
    )
    child = terminal.spawn()
    prompt_state(child)
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == pytest.ExitCode.INTERRUPTED
    out = terminal.transcript()
    assert "The LiveChat login was cancelled (Ctrl-C)." in out
    assert out.count("Paste the address") == 1
    assert "Traceback" not in out


def test_ctrl_c_at_livechat_login_is_an_interrupt(
    project: pytest.Pytester, terminal: Spawner, accounts: AccountsServer
) -> None:
    """``pytest --livechat-login``: exit code 2 (interrupted), not 4 (a usage error)."""
    child = terminal.spawn("--livechat-login")
    prompt_state(child)
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == pytest.ExitCode.INTERRUPTED
    assert "--livechat-login: The LiveChat login was cancelled (Ctrl-C)." in terminal.transcript()


def test_ctrl_c_while_the_token_is_checked_shows_no_token(
    project: pytest.Pytester, terminal: Spawner, accounts: AccountsServer
) -> None:
    """The pasted token is a secret from the moment it is read: a Ctrl-C while the accounts
    server is asked about it, under ``--full-trace`` (every frame with its arguments: the
    pasted address, the token, ``bearer``), shows it masked only."""
    release = threading.Event()
    accounts.hold[("GET", "/v2/info")] = release
    try:
        child = terminal.spawn("--full-trace", "-l")
        state = prompt_state(child)
        token = accounts.issue()
        paste(child, token, state)
        child.expect("Checking the token")
        assert accounts.arrived.wait(30)
        child.sendintr()
        child.expect(pexpect.EOF)
    finally:
        release.set()
    out = terminal.transcript()
    assert "KeyboardInterrupt" in out
    assert "token_info" in out, "the trace shows the frames that held the token"
    for form in forms(token):
        assert form not in out


def test_asked_once_for_many_tests(
    pytester: pytest.Pytester, terminal: Spawner, accounts: AccountsServer
) -> None:
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.parametrize("n", range(5))
        def test_many(livechat_bearer, n):
            assert livechat_bearer.region == "dal"
        def test_without_token():
            pass
        """
    )
    token = accounts.issue("client-1")
    child = terminal.spawn()
    paste_redirect(child, token)
    child.expect(pexpect.EOF)
    out = terminal.transcript()
    assert outcomes(out) == {"passed": 6}
    assert out.count("Paste the address") == 1
    assert accounts.count("GET", "/v2/info") == 1


def test_no_prompt_when_no_test_needs_a_token(pytester: pytest.Pytester, terminal: Spawner) -> None:
    pytester.makepyfile("def test_plain(): pass")
    child = terminal.spawn()
    child.expect(pexpect.EOF)
    out = terminal.transcript()
    assert outcomes(out) == {"passed": 1}
    assert "LiveChat login needed" not in out


@pytest.fixture
def recording_browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """BROWSER: a command that writes the address it is given to the returned file."""
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {opened}\n')
    browser.chmod(0o700)
    monkeypatch.setenv("BROWSER", str(browser))
    return opened


def test_opens_the_browser(
    project: pytest.Pytester,
    terminal: Spawner,
    accounts: AccountsServer,
    monkeypatch: pytest.MonkeyPatch,
    recording_browser: Path,
) -> None:
    token = accounts.issue("client-1")
    expect_token(monkeypatch, token)
    child = terminal.spawn(browser=True)
    url, state = read_login_url(child)
    child.expect("Paste the address")
    assert "A browser window was opened for it." in terminal.transcript()
    assert recording_browser.read_text() == url
    paste(child, token, state)
    child.expect(pexpect.EOF)
    assert outcomes(terminal.transcript()) == {"passed": 1}


def test_no_browser_opens_nothing(
    project: pytest.Pytester,
    terminal: Spawner,
    accounts: AccountsServer,
    monkeypatch: pytest.MonkeyPatch,
    recording_browser: Path,
) -> None:
    token = accounts.issue("client-1")
    expect_token(monkeypatch, token)
    child = terminal.spawn()  # with --livechat-no-browser
    paste_redirect(child, token)
    child.expect(pexpect.EOF)
    assert outcomes(terminal.transcript()) == {"passed": 1}
    assert "A browser window was opened" not in terminal.transcript()
    assert not recording_browser.exists()


def test_a_run_ended_at_the_prompt_by_a_thread_timeout_leaves_echo_on(
    project: pytest.Pytester, accounts: AccountsServer
) -> None:
    """pytest-timeout's thread method ends the process with ``os._exit`` while the answer is
    hidden: nothing of the process runs after that, and its echo guard puts the terminal back.
    The shell waits for the guard to end (an event, not a delay), then shows ``stty -a``."""
    pytest_command = shlex.join(
        pytest_words(accounts.url, "--timeout=3", "--timeout_method=thread")
    )
    script = (
        f"{pytest_command} </dev/tty & pid=$!; wait $pid; "
        'while pgrep -f "livechat-echo-guard $pid" >/dev/null; do sleep 0.1; done; '
        "echo SETTINGS; stty -a; echo END"
    )
    child = pexpect.spawn(
        "bash", ["--norc", "--noprofile", "-c", script], cwd=str(project.path), timeout=60
    )
    child.expect("Paste the address")
    child.expect("SETTINGS")
    child.expect("END")
    settings = " " + " ".join(child.before.decode().split()) + " "
    assert " echo " in settings, settings
    assert " -echo " not in settings
