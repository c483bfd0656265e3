"""The livechat-token command, run as a real process."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pexpect
import pytest

from pytest_livechat_token._base.bearer import utcnow
from pytest_livechat_token._store.cache import CacheEntry, TokenCache

from ..support.accounts_server import AccountsServer, redirect_fragment
from ..support.helpers import (
    CLOCK,
    cache_pair,
    cache_token,
    freeze_clock,
    held_until_released,
    paste_redirect,
    read_login_url,
)


def cli(
    *args: str, accounts_url: str | None = None, frozen: bool = False
) -> subprocess.CompletedProcess[str]:
    """livechat-token with nothing on stdin; ``frozen``: with the clock of ``freeze_clock``."""
    settings = ["--client-id=client-1", "--no-browser"]
    if accounts_url:
        settings.append(f"--accounts-url={accounts_url}")
    start = ["-m", "pytest_livechat_token"]
    if frozen:
        main = "import sys\nfrom pytest_livechat_token.cli import main\nsys.exit(main())\n"
        start = ["-c", CLOCK + main]
    command = [sys.executable, *start, *args]
    if args and not args[-1].startswith("-h"):
        command += settings
    return subprocess.run(
        command, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, check=False
    )


@pytest.fixture
def spawn_cli(tmp_path: Path, accounts: AccountsServer) -> Iterator[Callable[..., Any]]:
    """livechat-token in a real pseudo-terminal; what it showed goes to tmp_path/cli.out."""
    logs: list[Any] = []

    def spawn(*args: str) -> Any:
        command = ["-m", "pytest_livechat_token", *args, "--client-id=client-1", "--no-browser"]
        command.append(f"--accounts-url={accounts.url}")
        child = pexpect.spawn(sys.executable, command, timeout=30, cwd=str(tmp_path))
        child.logfile_read = (tmp_path / "cli.out").open("wb")
        logs.append(child.logfile_read)
        return child

    yield spawn
    for log in logs:
        log.close()


@pytest.mark.parametrize("command", ["login", "token", "status", "logout"])
def test_every_command_has_help(command: str) -> None:
    result = cli(command, "--help")
    assert result.returncode == 0
    assert f"usage: livechat-token {command}" in result.stdout
    assert "--client-id ID" in result.stdout


def test_bad_usage_exits_2() -> None:
    result = cli("frobnicate")
    assert result.returncode == 2
    assert "invalid choice: 'frobnicate'" in result.stderr


def test_bad_setting_is_a_usage_error_naming_its_own_flag(accounts: AccountsServer) -> None:
    result = cli("token", "--min-ttl=soon", accounts_url=accounts.url)
    assert result.returncode == 2
    assert result.stderr == (
        "livechat-token: --min-ttl must be a number of seconds from 0 to 86400, got 'soon'.\n"
    )


def test_token_prints_the_cached_token_alone(accounts: AccountsServer, cache_file: Path) -> None:
    token = accounts.issue()
    cache_token(cache_file, accounts.url, token)
    result = cli("token", accounts_url=accounts.url)
    assert (result.returncode, result.stdout, result.stderr) == (0, token + "\n", "")
    assert accounts.requests == []


def test_token_as_json_for_scripts(
    accounts: AccountsServer, cache_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = freeze_clock(monkeypatch).replace(microsecond=0)
    token = accounts.issue()
    scope = "chats--all:ro,agents--all:rw"
    cache_token(cache_file, accounts.url, token, 3600, now=now, scope=scope)
    result = cli("token", "--json", accounts_url=accounts.url, frozen=True)
    assert (result.returncode, result.stderr) == (0, "")
    expires = now + timedelta(seconds=3600)
    assert json.loads(result.stdout) == {
        "access_token": token,
        "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "expires_on": int(expires.timestamp()),
        "account": "default",
        "scope": scope,
    }


def test_token_without_one_says_so(accounts: AccountsServer) -> None:
    result = cli("token", accounts_url=accounts.url)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "no valid token cached for client client-1" in result.stderr
    assert "livechat-token login" in result.stderr


def test_token_login_without_terminal_errors_at_once(accounts: AccountsServer) -> None:
    result = cli("token", "--login", "--prompt-timeout=3600", accounts_url=accounts.url)
    assert result.returncode == 1
    assert "has no terminal to log in from" in result.stderr
    assert "Traceback" not in result.stderr


def test_token_login_in_a_terminal(
    accounts: AccountsServer, tmp_path: Path, spawn_cli: Callable[..., Any]
) -> None:
    token = accounts.issue()
    child = spawn_cli("token", "--login")
    paste_redirect(child, token)
    child.expect("Logged in to LiveChat")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert (tmp_path / "cli.out").read_text().rstrip().endswith(token)


def test_login_then_already_logged_in(
    accounts: AccountsServer,
    tmp_path: Path,
    cache_file: Path,
    spawn_cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = accounts.issue()
    child = spawn_cli("login")
    paste_redirect(child, token)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert token not in (tmp_path / "cli.out").read_text()
    stored = json.loads(cache_file.read_text())["entries"][accounts.url]["client-1"]["default"]
    expires_at = datetime.fromisoformat(stored["expires_at"])
    freeze_clock(monkeypatch, at=expires_at - timedelta(hours=8))
    again = cli("login", accounts_url=accounts.url, frozen=True)
    assert again.returncode == 0
    assert "Already logged in (8 h 0 min left); --force logs in again." in again.stderr


def test_login_force_logs_in_again(
    accounts: AccountsServer, cache_file: Path, spawn_cli: Callable[..., Any]
) -> None:
    cache_token(cache_file, accounts.url, accounts.issue())
    new = accounts.issue()
    child = spawn_cli("login", "--force")
    paste_redirect(child, new)
    child.expect(pexpect.EOF)
    assert (
        json.loads(cache_file.read_text())["entries"][accounts.url]["client-1"]["default"][
            "access_token"
        ]
        == new
    )


def test_status_table_is_masked(
    accounts: AccountsServer, cache_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = accounts.issue(), accounts.issue(region="fra")
    now = freeze_clock(monkeypatch)
    cache_token(cache_file, accounts.url, first, now=now)
    cache_token(cache_file, "http://other.test", second, seconds=-5, now=now)
    result = cli("status", accounts_url=accounts.url, frozen=True)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "ACCOUNTS",
        "URL",
        "CLIENT",
        "ID",
        "ACCOUNT",
        "ACCOUNT",
        "ID",
        "TOKEN",
        "EXPIRES",
        "AT",
        "(UTC)",
        "EXPIRES",
        "IN",
        "REFRESH",
        "SCOPE",
    ]
    assert accounts.url in lines[1]
    assert "dal:…" + first[-4:] in lines[1]
    assert "8 h 0 min" in lines[1]
    assert "http://other.test" in lines[2]
    assert "expired" in lines[2]
    assert lines[3] == f"({cache_file})"
    assert lines[4] == "client client-1, account 'default': token cached, 8 h 0 min left"
    assert first not in result.stdout
    assert second not in result.stdout


def test_status_of_empty_cache(cache_file: Path) -> None:
    result = cli("status")
    assert result.stdout == f"No tokens cached in {cache_file}.\n"


def test_logout_revokes_and_removes(accounts: AccountsServer, cache_file: Path) -> None:
    token = accounts.issue()
    cache_token(cache_file, accounts.url, token)
    result = cli("logout", accounts_url=accounts.url)
    assert result.returncode == 0
    assert "revoked at LiveChat" in result.stderr
    assert accounts.count("DELETE", "/v2/token") == 1
    assert accounts.tokens[token].revoked
    assert cli("token", accounts_url=accounts.url).returncode == 1


def test_logout_of_a_token_no_longer_valid(accounts: AccountsServer, cache_file: Path) -> None:
    cache_token(cache_file, accounts.url, "dal:never-issued-token")
    result = cli("logout", accounts_url=accounts.url)
    assert result.returncode == 0
    assert "the access token was no longer valid at LiveChat" in result.stderr


def test_logout_offline_removes_and_says_so(accounts: AccountsServer, cache_file: Path) -> None:
    cache_token(cache_file, accounts.url, accounts.issue())
    accounts.stop()
    result = cli("logout", accounts_url=accounts.url)
    assert result.returncode == 3
    assert "the access token could NOT be revoked at LiveChat (could not reach" in result.stderr
    assert "client-1" not in json.dumps(json.loads(cache_file.read_text())["entries"])


def test_logout_with_nothing_cached(accounts: AccountsServer) -> None:
    result = cli("logout", accounts_url=accounts.url)
    assert result.returncode == 1
    assert "no token cached for client client-1" in result.stderr


def test_the_command_is_installed() -> None:
    script = Path(sys.executable).with_name("livechat-token")
    result = subprocess.run([script, "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert "usage: livechat-token" in result.stdout


def test_login_picks_up_the_browser_answer_on_a_loopback_redirect(
    accounts: AccountsServer, cache_file: Path, spawn_cli: Callable[..., Any]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    redirect = f"http://localhost:{port}/cb"
    token = accounts.issue()
    child = spawn_cli("login", f"--redirect-uri={redirect}")
    _, state = read_login_url(child)
    child.expect("Waiting for the browser")
    answer = httpx.post(
        f"http://127.0.0.1:{port}/cb", content=redirect_fragment(token, state)[1:], timeout=30
    )
    assert answer.text == "Logged in to LiveChat: you can close this tab."
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert token in cache_file.read_text()


def test_damaged_cache_is_one_warning_line(accounts: AccountsServer, cache_file: Path) -> None:
    cache_file.parent.mkdir(parents=True)
    cache_file.write_text("{not json")
    result = cli("status", accounts_url=accounts.url)
    assert result.returncode == 0
    assert result.stderr == (
        f"livechat-token: warning: the token cache {cache_file} is damaged (not valid JSON); "
        "it counts as empty and the next login replaces it.\n"
    )


def test_ctrl_c_at_the_login_exits_130(spawn_cli: Callable[..., Any]) -> None:
    child = spawn_cli("login")
    child.expect("Paste the address")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130


def test_a_second_paste_never_reaches_the_shell(
    tmp_path: Path, accounts: AccountsServer, cache_file: Path
) -> None:
    """Two lines typed ahead of the prompt: the first is the answer, the second is dropped
    (tcflush) instead of being left for the shell that runs next."""
    token = accounts.issue()
    # The shell reads a first line before it starts livechat-token: all three lines are in the
    # terminal's queue (one write) before livechat-token runs, whatever the machine's speed.
    command = (
        f"read -r go; {sys.executable} -m pytest_livechat_token login --client-id=client-1 "
        f"--no-browser --accounts-url={accounts.url}; stty -icanon min 0 time 0; echo LEFT:; "
        "cat; echo :END"
    )
    child = pexpect.spawn("sh", ["-c", command], timeout=30, cwd=str(tmp_path))
    log = (tmp_path / "shell.out").open("wb")
    child.logfile_read = log
    # Typed before the prompt: canonical mode queues them as lines, read one at a time.
    child.send(f"go\n{token}\necho SECOND-PASTE-RAN\n")
    child.expect(":END")
    child.expect(pexpect.EOF)
    log.close()
    shown = (tmp_path / "shell.out").read_bytes().decode(errors="replace")
    assert "Logged in to LiveChat" in shown
    left = shown.split("LEFT:")[1].split(":END")[0]
    assert "SECOND-PASTE" not in left


def cli_alone(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """livechat-token with no controlling terminal at all (a new session), nothing on stdin;
    run in ``cwd`` when given."""
    import os

    return subprocess.run(
        [sys.executable, "-m", "pytest_livechat_token", *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
        start_new_session=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


def test_the_cli_names_its_own_options(accounts: AccountsServer) -> None:
    missing = cli_alone("token")
    assert missing.returncode == 2
    assert missing.stderr == (
        "livechat-token: no LiveChat client id configured: pass --client-id=ID, set "
        "LIVECHAT_CLIENT_ID or ini livechat_client_id, or set LIVECHAT_BEARER_TOKEN to a token\n"
    )
    alone = cli_alone("login", "--client-id=client-1", f"--accounts-url={accounts.url}")
    assert alone.returncode == 1
    assert "Run livechat-token login in a terminal, or set LIVECHAT_BEARER_TOKEN." in alone.stderr
    assert "pytest" not in alone.stderr


def test_login_with_an_environment_token_says_so(accounts: AccountsServer) -> None:
    result = cli_alone(
        "login", "--client-id=client-1", env={"LIVECHAT_BEARER_TOKEN": "dal:abcdefgh1234"}
    )
    assert result.returncode == 0
    assert result.stderr == (
        "LIVECHAT_BEARER_TOKEN is set, so its token is used and no login is needed: "
        "unset it to log in.\n"
    )


def test_status_lists_every_account_with_its_user(
    accounts: AccountsServer, cache_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = freeze_clock(monkeypatch)
    cache_token(cache_file, accounts.url, accounts.issue(), account_id="acc-1", now=now)
    pair = cache_pair(cache_file, accounts, now=now)
    result = cli("status", accounts_url=accounts.url, frozen=True)
    assert result.returncode == 0
    rows = [line.split() for line in result.stdout.splitlines()[1:3]]
    assert [(row[2], row[3], row[-2]) for row in rows] == [
        ("default", "acc-1", "no"),
        ("supervisor", "acc-2", "yes"),
    ]
    assert result.stdout.splitlines()[-2:] == [
        "client client-1, account 'default': token cached, 8 h 0 min left",
        "client client-1, account 'supervisor': token cached, 8 h 0 min left, then renewed "
        "silently",
    ]
    assert pair["refresh_token"] not in result.stdout


def test_token_and_logout_of_one_account(accounts: AccountsServer, cache_file: Path) -> None:
    first, second = accounts.issue(), accounts.issue(account_id="acc-2")
    cache_token(cache_file, accounts.url, first)
    cache_token(cache_file, accounts.url, second, account="supervisor")
    token = cli("token", "--account=supervisor", accounts_url=accounts.url)
    assert (token.returncode, token.stdout) == (0, second + "\n")
    missing = cli("token", "--account=viewer", accounts_url=accounts.url)
    assert missing.returncode == 1
    assert "no valid token cached for 'viewer'" in missing.stderr
    assert "livechat-token login --account viewer" in missing.stderr
    out = cli("logout", "--account=supervisor", accounts_url=accounts.url)
    assert out.returncode == 0
    assert "Logged out for 'supervisor'" in out.stderr
    assert accounts.tokens[second].revoked
    assert not accounts.tokens[first].revoked
    left = TokenCache(cache_file).entries()
    assert [key[2] for key in left] == ["default"]


def test_logout_all_logs_out_every_account_of_the_client(
    accounts: AccountsServer, cache_file: Path
) -> None:
    tokens = [accounts.issue() for _ in range(3)]
    for name, token in zip(("default", "viewer", "supervisor"), tokens, strict=True):
        cache_token(cache_file, accounts.url, token, account=name)
    now = utcnow()
    other = CacheEntry("dal:other-client-token", now + timedelta(hours=1), now)
    TokenCache(cache_file).put(accounts.url, "client-2", other)
    result = cli("logout", "--all", accounts_url=accounts.url)
    assert result.returncode == 0
    assert result.stderr.count("Logged out") == 3
    assert all(accounts.tokens[token].revoked for token in tokens)
    assert list(TokenCache(cache_file).entries()) == [(accounts.url, "client-2", "default")]
    again = cli("logout", "--all", accounts_url=accounts.url)
    assert again.returncode == 1
    assert "no token cached for client client-1" in again.stderr


def test_a_bad_account_name_is_a_usage_error(accounts: AccountsServer) -> None:
    result = cli("token", "--account=Boss", accounts_url=accounts.url)
    assert result.returncode == 2
    assert "--account must match [a-z0-9][a-z0-9_-]{0,31}" in result.stderr


def test_logout_waits_for_a_renewal_and_revokes_what_it_stored(
    accounts: AccountsServer, cache_file: Path
) -> None:
    """``logout`` takes the account's login lock: while another process renews (it holds the
    lock), logout waits; it then revokes and removes the pair that renewal stored, not the one
    it rotated away, so no live refresh token is left at LiveChat."""
    old = cache_pair(cache_file, accounts, account="default", account_id="acc-1")
    with held_until_released(cache_file.with_name("tokens.json.login.lock")) as release:
        command = [sys.executable, "-m", "pytest_livechat_token", "logout", "--client-id=client-1"]
        with subprocess.Popen(
            [*command, f"--accounts-url={accounts.url}"],
            stdin=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        ) as logout:
            assert logout.stderr is not None
            assert "Waiting for the LiveChat login or renewal" in logout.stderr.readline()
            new = cache_pair(cache_file, accounts, account="default", account_id="acc-1")
            release()
            said = logout.stderr.read()
        assert logout.returncode == 0
    assert "Logged out: removed the token from the cache" in said
    assert accounts.tokens[new["access_token"]].revoked
    assert new["refresh_token"] not in accounts.refresh_tokens
    assert TokenCache(cache_file).get(accounts.url, "client-1") is None
    assert old["access_token"] in accounts.tokens


def test_a_cache_path_naming_an_unknown_user_is_one_line(
    monkeypatch: pytest.MonkeyPatch, accounts: AccountsServer
) -> None:
    monkeypatch.setenv("LIVECHAT_TOKEN_CACHE", "~nosuchuser-livechat/tokens.json")
    result = cli("status", accounts_url=accounts.url)
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert "whose ~ names no home directory here: give the token cache's full path" in lines[0]
    assert "unexpectedly" not in result.stderr


def test_the_project_s_pytest_settings_are_read(
    tmp_path: Path, accounts: AccountsServer, cache_file: Path
) -> None:
    """Where ``pytest`` works, ``livechat-token`` works: run in a project whose
    pyproject.toml names the client, the accounts server and the cache, with no flag."""
    token = accounts.issue()
    custom = tmp_path / "project-cache" / "tokens.json"
    cache_token(custom, accounts.url, token)
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        "[tool.pytest.ini_options]\n"
        'livechat_client_id = "client-1"\n'
        f'livechat_accounts_url = "{accounts.url}"\n'
        f'livechat_token_cache = "{custom}"\n'
    )
    result = cli_alone("token", cwd=project / "tests")
    assert (result.returncode, result.stdout.strip()) == (0, token), result.stderr


def test_token_with_no_client_id_uses_the_one_client_cached(
    tmp_path: Path, accounts: AccountsServer, cache_file: Path
) -> None:
    token = accounts.issue()
    cache_token(cache_file, accounts.url, token)
    result = cli_alone("token", f"--accounts-url={accounts.url}", cwd=tmp_path)
    assert (result.returncode, result.stdout.strip()) == (0, token), result.stderr
