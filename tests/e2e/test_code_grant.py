"""The authorization code grant with PKCE and rotating refresh tokens (--livechat-grant=code)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pexpect
import pytest

from pytest_livechat_token._base.bearer import utcnow
from pytest_livechat_token._store.cache import CacheEntry, TokenCache

from ..support.accounts_server import AccountsServer
from ..support.helpers import Spawner, freeze_clock, outcomes, read_login_url

CODE = "--livechat-grant=code"


# -- pure -------------------------------------------------------------------------------------


# -- end to end -------------------------------------------------------------------------------


def browser_lands_on(login_url: str) -> str:
    """What a browser would show after logging in: the redirect URI with the code."""
    response = httpx.get(login_url, follow_redirects=False)
    assert response.status_code == 302
    return response.headers["Location"]


def cache_pair(cache_file: Path, accounts: AccountsServer, *, seconds: float) -> dict[str, str]:
    """Cache a token pair from the server whose access token has ``seconds`` left."""
    pair = accounts.pair()
    now = utcnow()
    entry = CacheEntry(
        pair["access_token"],
        now + timedelta(seconds=seconds),
        now,
        scope=pair["scope"],
        refresh_token=pair["refresh_token"],
    )
    TokenCache(cache_file).put(accounts.url, "client-1", entry)
    return pair


def test_login_once_then_renew_silently(
    project: pytest.Pytester,
    terminal: Spawner,
    accounts: AccountsServer,
    cache_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    accounts.access_expires_in = 60  # shorter than --livechat-min-ttl: "expired" at once
    child = terminal.spawn(CODE)
    url, _ = read_login_url(child)
    assert "response_type=code" in url
    assert "code_challenge_method=S256" in url
    child.expect("Paste the address")
    child.sendline(browser_lands_on(url))
    child.expect("it will be renewed silently")
    child.expect(pexpect.EOF)
    first = terminal.transcript()
    assert outcomes(first) == {"passed": 1}
    stored = json.loads(cache_file.read_text())["entries"][accounts.url]["client-1"]["default"]
    assert stored["refresh_token"].startswith("refresh-")
    assert stored["refresh_token"] not in first
    assert stored["access_token"] not in first

    accounts.access_expires_in = 28800
    # No terminal at all: the renewal needs none.
    again = project.runpytest_subprocess(
        CODE, "--livechat-client-id=client-1", f"--livechat-accounts-url={accounts.url}"
    )
    again.assert_outcomes(passed=1)
    again.stdout.fnmatch_lines(["*cached token expiring: it will be renewed silently*"])
    assert accounts.refresh_calls == 1
    renewed = json.loads(cache_file.read_text())["entries"][accounts.url]["client-1"]["default"]
    assert renewed["refresh_token"] != stored["refresh_token"]
    assert renewed["refresh_token"] not in again.stdout.str()
    renewed_at = datetime.fromisoformat(renewed["expires_at"]) - timedelta(hours=8)
    freeze_clock(monkeypatch, project.path, at=renewed_at)
    header = project.runpytest_subprocess(
        "--co",
        "-p",
        "frozen_clock",
        "--livechat-client-id=client-1",
        f"--livechat-accounts-url={accounts.url}",
    )
    header.stdout.fnmatch_lines(
        ["livechat: client client-1, token cached, 8 h 0 min left, then renewed silently"]
    )


MODULE = "def test_it(livechat_bearer):\n    assert livechat_bearer.region == 'dal'\n"


def test_eight_workers_renew_once(
    pytester: pytest.Pytester, accounts: AccountsServer, cache_file: Path
) -> None:
    for module in range(8):
        pytester.makepyfile(**{f"test_w{module}": MODULE})
    cache_pair(cache_file, accounts, seconds=-60)
    result = pytester.runpytest_subprocess(
        "-n",
        "8",
        "--dist",
        "loadfile",
        "--livechat-client-id=client-1",
        f"--livechat-accounts-url={accounts.url}",
        timeout=120,
    )
    result.assert_outcomes(passed=8)
    assert accounts.refresh_calls == 1


def test_two_sessions_renew_once(
    pytester: pytest.Pytester, accounts: AccountsServer, cache_file: Path
) -> None:
    pytester.makepyfile(test_one=MODULE)
    cache_pair(cache_file, accounts, seconds=-60)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "--livechat-client-id=client-1",
        f"--livechat-accounts-url={accounts.url}",
    ]
    sessions = [
        subprocess.Popen(
            command, cwd=pytester.path, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
        )
        for _ in range(2)
    ]
    outputs = [session.communicate(timeout=120)[0] for session in sessions]
    assert all(outcomes(out) == {"passed": 1} for out in outputs), outputs
    assert accounts.refresh_calls == 1


def test_revoked_refresh_token_leads_to_the_guided_login(
    project: pytest.Pytester, terminal: Spawner, accounts: AccountsServer, cache_file: Path
) -> None:
    pair = cache_pair(cache_file, accounts, seconds=-60)
    accounts.refresh_tokens.pop(pair["refresh_token"])  # revoked at LiveChat
    child = terminal.spawn(CODE)
    child.expect("refresh token no longer works")
    url, _ = read_login_url(child)
    child.expect("Paste the address")
    child.sendline(browser_lands_on(url))
    child.expect(pexpect.EOF)
    out = terminal.transcript()
    assert outcomes(out) == {"passed": 1}
    assert pair["refresh_token"] not in out


def test_revoked_refresh_token_without_terminal(
    project: pytest.Pytester, accounts: AccountsServer, cache_file: Path
) -> None:
    pair = cache_pair(cache_file, accounts, seconds=-60)
    accounts.refresh_tokens.pop(pair["refresh_token"])
    result = project.runpytest_subprocess(
        "--livechat-client-id=client-1", f"--livechat-accounts-url={accounts.url}", "-W", "always"
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*has no terminal to log in from*", "*refresh token no longer works*"]
    )
    entry = json.loads(cache_file.read_text())["entries"][accounts.url]["client-1"]["default"]
    assert "refresh_token" not in entry


def test_wrong_or_replayed_code_is_explained(
    project: pytest.Pytester, terminal: Spawner, accounts: AccountsServer
) -> None:
    child = terminal.spawn(CODE)
    url, _ = read_login_url(child)
    landing = browser_lands_on(url)
    code = parse_qs(urlsplit(landing).query)["code"][0]
    accounts.codes[code].used = True  # as if it had been traded already
    child.expect("Paste the address")
    child.sendline(landing)
    child.expect("A code works once, for a few minutes")
    child.sendline(browser_lands_on(url))
    child.expect(pexpect.EOF)
    assert outcomes(terminal.transcript()) == {"passed": 1}


def test_unreachable_server_keeps_the_old_pair(
    project: pytest.Pytester, accounts: AccountsServer, cache_file: Path
) -> None:
    cache_pair(cache_file, accounts, seconds=300)  # under min-ttl, not yet expired
    before = cache_file.read_text()
    accounts.stop()
    result = project.runpytest_subprocess(
        "--livechat-client-id=client-1", f"--livechat-accounts-url={accounts.url}", "-W", "always"
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*Could not renew the LiveChat token (could not reach*the cached pair is kept*"]
    )
    assert cache_file.read_text() == before


def test_unreachable_server_and_expired_token(
    project: pytest.Pytester, accounts: AccountsServer, cache_file: Path
) -> None:
    cache_pair(cache_file, accounts, seconds=-60)
    accounts.stop()
    result = project.runpytest_subprocess(
        "--livechat-client-id=client-1", f"--livechat-accounts-url={accounts.url}"
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*Could not renew the expired LiveChat token*The cached pair is kept*"]
    )


def test_cli_logout_revokes_the_refresh_token_too(
    accounts: AccountsServer, cache_file: Path
) -> None:
    pair = cache_pair(cache_file, accounts, seconds=3600)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest_livechat_token",
            "logout",
            "--client-id=client-1",
            f"--accounts-url={accounts.url}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert pair["refresh_token"] not in accounts.refresh_tokens
    assert pair["refresh_token"] not in result.stderr
    said = "the access token was revoked at LiveChat; its refresh token with it."
    assert said in result.stderr, "nothing wrong reads as nothing wrong"
    assert "no longer valid" not in result.stderr


def test_cli_login_with_code_grant(
    accounts: AccountsServer, tmp_path: Path, cache_file: Path
) -> None:
    command = [
        "-m",
        "pytest_livechat_token",
        "login",
        "--grant=code",
        "--client-id=client-1",
        "--no-browser",
        f"--accounts-url={accounts.url}",
    ]
    child = pexpect.spawn(sys.executable, command, timeout=30, cwd=str(tmp_path))
    url, _ = read_login_url(child)
    child.expect("Paste the address")
    child.sendline(browser_lands_on(url))
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    stored = json.loads(cache_file.read_text())["entries"][accounts.url]["client-1"]["default"]
    assert "refresh_token" in stored


def test_remote_workers_get_a_token_the_controller_renewed(
    pytester: pytest.Pytester, accounts: AccountsServer, cache_file: Path, tmp_path: Path
) -> None:
    for module in range(2):
        pytester.makepyfile(**{f"test_r{module}": MODULE})
    cache_pair(cache_file, accounts, seconds=-60)
    tx = f"popen//env:XDG_CACHE_HOME={tmp_path / 'elsewhere'}"
    result = pytester.runpytest_subprocess(
        "--tx",
        tx,
        "--tx",
        tx,
        "--dist",
        "loadfile",
        "--livechat-client-id=client-1",
        f"--livechat-accounts-url={accounts.url}",
        timeout=120,
    )
    result.assert_outcomes(passed=2)
    assert accounts.refresh_calls == 1
    assert not (tmp_path / "elsewhere" / "pytest-livechat-token").exists()
