"""Parallel and remote runs: real xdist workers, real pseudo-terminals, the test accounts server."""

from __future__ import annotations

import signal
from pathlib import Path

import pexpect
import pytest

from pytest_livechat_token._store.cache import TokenCache

from ..support.accounts_server import AccountsServer, redirect_fragment
from ..support.helpers import (
    Spawner,
    cache_token,
    expect_token,
    outcomes,
    paste,
    paste_redirect,
    read_login_url,
)

MANY_TESTS = """
import hashlib, os, pytest

@pytest.mark.parametrize("n", range(4))
def test_needs_token(livechat_bearer, n):
    digest = hashlib.sha256(str(livechat_bearer).encode()).hexdigest()
    assert digest == os.environ["EXPECT_TOKEN_SHA256"]
"""


@pytest.fixture
def modules(pytester: pytest.Pytester) -> pytest.Pytester:
    # With --dist loadfile each worker runs whole modules: four modules, four workers needing one.
    for module in range(4):
        pytester.makepyfile(**{f"test_m{module}": MANY_TESTS})
    return pytester


def test_cold_cache_asks_once_for_all_workers(
    modules: pytest.Pytester,
    terminal: Spawner,
    accounts: AccountsServer,
    monkeypatch: pytest.MonkeyPatch,
    cache_file: Path,
) -> None:
    token = accounts.issue("client-1")
    expect_token(monkeypatch, token)
    child = terminal.spawn("-n", "4", "--dist", "loadfile", timeout=60)
    paste_redirect(child, token)
    child.expect(pexpect.EOF)
    out = terminal.transcript()
    assert outcomes(out) == {"passed": 16}
    assert out.count("Paste the address") == 1
    assert out.count("LiveChat login needed (worker gw") == 1
    assert out.count("Waiting for the LiveChat login in progress in another process") >= 1
    assert accounts.count("GET", "/v2/info") == 1
    assert token not in out


def test_warm_cache_no_prompt_no_network(
    modules: pytest.Pytester,
    terminal: Spawner,
    accounts: AccountsServer,
    monkeypatch: pytest.MonkeyPatch,
    cache_file: Path,
) -> None:
    token = accounts.issue("client-1")
    cache_token(cache_file, accounts.url, token)
    expect_token(monkeypatch, token)
    child = terminal.spawn("-n", "4", "--dist", "loadfile", timeout=60)
    child.expect(pexpect.EOF)
    out = terminal.transcript()
    assert outcomes(out) == {"passed": 16}
    assert "Paste the address" not in out
    assert accounts.requests == []


def test_no_prompt_when_no_test_needs_a_token(
    pytester: pytest.Pytester, terminal: Spawner, accounts: AccountsServer
) -> None:
    for module in range(4):
        pytester.makepyfile(**{f"test_plain{module}": "def test_plain(): pass"})
    child = terminal.spawn("-n", "2", timeout=60)
    child.expect(pexpect.EOF)
    out = terminal.transcript()
    assert outcomes(out) == {"passed": 4}
    assert "LiveChat login" not in out
    assert accounts.requests == []


def test_two_sessions_on_one_cold_cache(
    modules: pytest.Pytester,
    terminal: Spawner,
    accounts: AccountsServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = accounts.issue("client-1")
    expect_token(monkeypatch, token)
    first = terminal.spawn(timeout=60)
    second = terminal.spawn(timeout=60)
    prompted, waiting = None, None
    for child, other in ((first, second), (second, first)):
        index = child.expect([r"Paste the address", r"Waiting for the LiveChat login"])
        if index == 0:
            prompted, waiting = child, other
            break
    assert prompted is not None
    assert waiting is not None
    text = Path(terminal.logs[0 if prompted is first else 1]).read_text()
    state = text.split("state=")[1].split()[0]
    prompted.sendline("https://localhost/" + redirect_fragment(token, state))
    prompted.expect(pexpect.EOF)
    waiting.expect(pexpect.EOF)
    outs = [terminal.transcript(0), terminal.transcript(1)]
    assert all(outcomes(out) == {"passed": 16} for out in outs)
    assert sum(out.count("Paste the address") for out in outs) == 1
    assert accounts.count("GET", "/v2/info") == 1


def test_a_login_that_dies_does_not_leave_others_stuck(
    modules: pytest.Pytester, terminal: Spawner, accounts: AccountsServer
) -> None:
    first = terminal.spawn(timeout=60)
    first.expect("Paste the address")
    second = terminal.spawn(timeout=60)
    second.expect("Waiting for the LiveChat login in progress in another process")
    first.kill(signal.SIGKILL)
    second.expect(pexpect.EOF)
    out = terminal.transcript(1)
    assert "The LiveChat login in another process ended without a token" in out
    assert outcomes(out) == {"errors": 16}


def test_workers_on_another_disk_get_the_controllers_token(
    modules: pytest.Pytester,
    terminal: Spawner,
    accounts: AccountsServer,
    monkeypatch: pytest.MonkeyPatch,
    cache_file: Path,
    tmp_path: Path,
) -> None:
    token = accounts.issue("client-1")
    cache_token(cache_file, accounts.url, token)
    expect_token(monkeypatch, token)
    elsewhere = tmp_path / "worker-cache"
    tx = f"popen//env:XDG_CACHE_HOME={elsewhere}"
    child = terminal.spawn("--tx", tx, "--tx", tx, "--dist", "loadfile", timeout=60)
    child.expect(pexpect.EOF)
    out = terminal.transcript()
    assert outcomes(out) == {"passed": 16}
    assert "Paste the address" not in out
    assert accounts.requests == []
    assert not (elsewhere / "pytest-livechat-token" / "tokens.json").exists()


def test_login_up_front_for_remote_workers(
    modules: pytest.Pytester,
    terminal: Spawner,
    accounts: AccountsServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    token = accounts.issue("client-1")
    expect_token(monkeypatch, token)
    elsewhere = tmp_path / "worker-cache"
    tx = f"popen//env:XDG_CACHE_HOME={elsewhere}"
    child = terminal.spawn(
        "--livechat-login", "--tx", tx, "--tx", tx, "--dist", "loadfile", timeout=60
    )
    paste_redirect(child, token)
    child.expect(pexpect.EOF)
    out = terminal.transcript()
    assert outcomes(out) == {"passed": 16}
    assert out.count("Paste the address") == 1
    assert out.index("Logged in to LiveChat") < out.index("test session starts")


def test_login_option_logs_in_again_when_cached(
    pytester: pytest.Pytester,
    terminal: Spawner,
    accounts: AccountsServer,
    monkeypatch: pytest.MonkeyPatch,
    cache_file: Path,
) -> None:
    pytester.makepyfile(MANY_TESTS)
    old = accounts.issue("client-1")
    cache_token(cache_file, accounts.url, old)
    new = accounts.issue("client-1")
    expect_token(monkeypatch, new)
    child = terminal.spawn("--livechat-login", timeout=60)
    paste_redirect(child, new)
    child.expect(pexpect.EOF)
    out = terminal.transcript()
    assert outcomes(out) == {"passed": 4}
    assert out.index("Logged in to LiveChat") < out.index("collected 4 items")
    assert new in cache_file.read_text()
    assert old not in cache_file.read_text()


def test_login_option_without_a_cached_token(
    pytester: pytest.Pytester,
    terminal: Spawner,
    accounts: AccountsServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytester.makepyfile("def test_plain(): pass")
    token = accounts.issue("client-1")
    child = terminal.spawn("--livechat-login", timeout=60)
    paste_redirect(child, token)
    child.expect(pexpect.EOF)
    out = terminal.transcript()
    assert outcomes(out) == {"passed": 1}
    assert "Logged in to LiveChat" in out


def test_login_option_without_terminal_errors_at_once(
    pytester: pytest.Pytester, accounts: AccountsServer
) -> None:
    pytester.makepyfile("def test_plain(): pass")
    result = pytester.runpytest_subprocess(
        "--livechat-client-id=client-1",
        f"--livechat-accounts-url={accounts.url}",
        "--livechat-login",
        "--livechat-prompt-timeout=3600",
        timeout=60,
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --livechat-login: No valid LiveChat token is cached*"])
    assert "Traceback" not in result.stderr.str()
    error = result.stderr.str().split("ERROR: --livechat-login:")[1]
    assert "with --livechat-login" not in error, "it was given: the advice is a terminal"
    assert "Run pytest --livechat-login in a terminal, or set LIVECHAT_BEARER_TOKEN." in error


def test_no_terminal_with_workers_errors_at_once(
    modules: pytest.Pytester, accounts: AccountsServer
) -> None:
    result = modules.runpytest_subprocess(
        "-n",
        "2",
        "--livechat-client-id=client-1",
        f"--livechat-accounts-url={accounts.url}",
        "--livechat-prompt-timeout=3600",
        timeout=120,
    )
    result.assert_outcomes(errors=16)
    result.stdout.fnmatch_lines(
        ["*worker gw* has no terminal to log in from*--livechat-login*LIVECHAT_BEARER_TOKEN*"]
    )
    assert "Traceback" not in result.stdout.str()


TWO_USERS_TESTS = """
import pytest

@pytest.mark.parametrize("n", range(4))
def test_transfer(livechat_bearer, livechat_bearer_for, n):
    supervisor = livechat_bearer_for("supervisor")
    assert (livechat_bearer.account_id, supervisor.account_id) == ("acc-1", "acc-2")
"""


def test_two_names_ask_exactly_twice_for_four_workers(
    pytester: pytest.Pytester, terminal: Spawner, accounts: AccountsServer, cache_file: Path
) -> None:
    """Four workers, each needing two users: one prompt per name, one after the other; the
    second names its user and says how to be another one than the browser's."""
    for module in range(4):
        pytester.makepyfile(**{f"test_two{module}": TWO_USERS_TESTS})
    tokens = {
        "default": accounts.issue("client-1", account_id="acc-1"),
        "supervisor": accounts.issue("client-1", account_id="acc-2"),
    }
    child = terminal.spawn("-n", "4", "--dist", "loadfile", timeout=90)
    asked = []
    for _ in range(2):
        child.expect("LiveChat login needed")
        _, state = read_login_url(child)
        name = "supervisor" if "you use as 'supervisor'" in child.before.decode() else "default"
        asked.append(name)
        child.expect("Paste the address")
        paste(child, tokens[name], state)
    child.expect(pexpect.EOF)
    out = terminal.transcript()
    assert outcomes(out) == {"passed": 16}
    assert asked == ["default", "supervisor"]
    assert out.count("Paste the address") == 2
    assert "'default' is another user" in out
    assert accounts.count("GET", "/v2/info") == 2
    assert all(token not in out for token in tokens.values())
    cached = TokenCache(cache_file).entries()
    assert {key[2]: entry.account_id for key, entry in cached.items()} == {
        "default": "acc-1",
        "supervisor": "acc-2",
    }


def test_workers_on_another_disk_get_every_cached_account(
    pytester: pytest.Pytester,
    terminal: Spawner,
    accounts: AccountsServer,
    cache_file: Path,
    tmp_path: Path,
) -> None:
    for module in range(2):
        pytester.makepyfile(**{f"test_two{module}": TWO_USERS_TESTS})
    cache_token(cache_file, accounts.url, accounts.issue(), account_id="acc-1")
    second = accounts.issue(account_id="acc-2")
    cache_token(cache_file, accounts.url, second, account="supervisor", account_id="acc-2")
    elsewhere = tmp_path / "worker-cache"
    tx = f"popen//env:XDG_CACHE_HOME={elsewhere}"
    child = terminal.spawn("--tx", tx, "--tx", tx, "--dist", "loadfile", timeout=60)
    child.expect(pexpect.EOF)
    out = terminal.transcript()
    assert outcomes(out) == {"passed": 8}
    assert "Paste the address" not in out
    assert accounts.requests == []
    assert not (elsewhere / "pytest-livechat-token" / "tokens.json").exists()
