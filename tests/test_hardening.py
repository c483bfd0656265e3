"""The promises under attack, in-process: hostile answers, caches, sockets and people.

Each test runs the real code against the real test accounts server, real files and real
sockets; only the person at the terminal is scripted (``ScriptedTerminal``).
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from pytest_livechat_token import RenewalWarning, redact
from pytest_livechat_token import oauth as accounts_module
from pytest_livechat_token.authorize import explain_error, parse_paste
from pytest_livechat_token.bearer import utcnow
from pytest_livechat_token.cache import CacheEntry, CacheWarning, TokenCache
from pytest_livechat_token.errors import (
    AccountsUnreachable,
    ConfigError,
    LoginCancelled,
    LoginFailed,
    NoTerminal,
)
from pytest_livechat_token.loopback import LoopbackReceiver, LoopbackTarget
from pytest_livechat_token.oauth import token_info
from pytest_livechat_token.obtain import TokenSource
from pytest_livechat_token.renewal import renew
from pytest_livechat_token.run import Run
from pytest_livechat_token.settings import Settings
from pytest_livechat_token.terminal import alarm_paused, shown

from .accounts_server import AccountsServer, redirect_fragment
from .helpers import free_port, make_run
from .scripted import ScriptedTerminal, Step, opener


def source_for(
    accounts: AccountsServer,
    path: Path,
    terminal: ScriptedTerminal | None,
    **kwargs: Any,
) -> TokenSource:
    """The default account's source of a run (``helpers.make_run``)."""
    return make_run(accounts.url, path, terminal, **kwargs).account()


def paste_for(terminal: ScriptedTerminal, token: str) -> str:
    from urllib.parse import parse_qs, urlsplit  # noqa: PLC0415

    url = next(line for line in terminal.text.split() if "state=" in line)
    state = parse_qs(urlsplit(url).query)["state"][0]
    return "https://localhost/" + redirect_fragment(token, state)


def scripted_login(accounts: AccountsServer, token: str) -> ScriptedTerminal:
    """A terminal whose person pastes the right redirect for ``token`` at the first prompt."""
    ref: list[ScriptedTerminal] = []
    terminal = ScriptedTerminal([lambda wake: paste_for(ref[0], token)])
    ref.append(terminal)
    return terminal


def env_only(environ: dict[str, str]) -> TokenSource:
    """A source with only the environment to take a token from (no client id, no cache)."""
    return Run(Settings(token_cache=Path("never-read.json")), environ, interactive=False).account()


# -- tokens are checked wherever they come from ------------------------------------------------


@pytest.mark.parametrize(
    "value", ["dal:abc\ndef-ghi-jkl", "dal:abc def-ghi", "dal:ab\x1b[2Jcdefgh"]
)
def test_malformed_env_token_is_refused_without_echo(value: str) -> None:
    source = env_only({"LIVECHAT_BEARER_TOKEN": value})
    with pytest.raises(
        ConfigError, match="LIVECHAT_BEARER_TOKEN does not hold a LiveChat token"
    ) as raised:
        source.token()
    assert value not in str(raised.value)
    assert "abc" not in str(raised.value)


@pytest.mark.parametrize(
    "value",
    [
        "dal:abcdefgh-1234",
        "dal%3Aabcdefgh-1234",
        "Bearer dal:abcdefgh-1234",
        " dal:abcdefgh-1234\n",
    ],
)
def test_env_token_is_read_as_a_paste_is(value: str) -> None:
    token = env_only({"LIVECHAT_BEARER_TOKEN": value}).token()
    assert token == "dal:abcdefgh-1234"
    assert token.region == "dal"
    assert redact.scrub("x dal:abcdefgh-1234 y") == "x dal:… y"


def test_unicode_digits_in_a_pasted_expiry_are_no_expiry() -> None:
    grant = parse_paste(
        "https://localhost/#access_token=dal%3Aabcdefgh1234&expires_in=%C2%B2&state=s",
        expected_state="s",
    )
    assert grant.expires_in is None
    huge = parse_paste(
        "#access_token=dal:abcdefgh1234&expires_in=1000000000000", expected_state=None
    )
    assert huge.expires_in is None


# -- hostile answers from the accounts server ---------------------------------------------------


def info_answer(**fields: object) -> tuple[int, bytes, dict[str, str]]:
    body = {"client_id": "client-1", "scope": "chats--all:ro", "expires_in": 28800, **fields}
    return 200, json.dumps(body).encode(), {}


def test_an_absurd_lifetime_from_info_counts_as_unknown(accounts: AccountsServer) -> None:
    accounts.fixed[("GET", "/v2/info")] = info_answer(expires_in=10**12)
    assert token_info(accounts.url, "dal:abcdefgh1234").expires_in is None


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000, b'{"a":' * 50_000, b'{"client_id": "' + b"x" * 70_000 + b'"}', b"\xff\xfe"],
    ids=["nested-list", "nested-object", "too-large", "not-utf8"],
)
def test_a_hostile_info_answer_is_one_line(accounts: AccountsServer, body: bytes) -> None:
    accounts.fixed[("GET", "/v2/info")] = (200, body, {})
    with pytest.raises(AccountsUnreachable) as raised:
        token_info(accounts.url, "dal:abcdefgh1234")
    assert "\n" not in str(raised.value)
    assert raised.value.__cause__ is None


def test_a_trickling_server_meets_one_deadline(
    accounts: AccountsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every byte comes within httpx's read timeout; the whole answer never within the deadline.
    monkeypatch.setattr(accounts_module, "TIMEOUT", 1.0)
    accounts.trickle[("GET", "/v2/info")] = 0.25
    accounts.fixed[("GET", "/v2/info")] = info_answer(padding="x" * 40)
    with pytest.raises(AccountsUnreachable, match="gave no whole answer within 1 s"):
        token_info(accounts.url, "dal:abcdefgh1234")


def test_control_characters_of_an_error_page_are_escaped() -> None:
    params = {"oauth_exception": "\x1b]52;c;ZWNobyBoaQ==\x07", "exception_details": "\x1b[2J"}
    text = explain_error(params, client_id="c", redirect_uri="https://localhost")
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\\x1b]52;c;" in text
    assert shown("ok\n\x1b[2Jcleared\x9b\n") == "ok\n\\x1b[2Jcleared\\x9b\n"


# -- nothing obtained is lost -------------------------------------------------------------------


def test_a_login_whose_cache_cannot_be_written_still_serves_the_run(
    accounts: AccountsServer, tmp_path: Path
) -> None:
    cache = tmp_path / "cache" / "tokens.json"
    cache.mkdir(parents=True)  # a directory where the file should be: every write fails
    token = accounts.issue()
    terminal = scripted_login(accounts, token)
    source = source_for(accounts, cache, terminal)
    with pytest.warns(CacheWarning) as warned:
        tokens = [source.token(), source.token()]
    assert tokens == [token, token], "the token stays in memory for the rest of the run"
    messages = [str(w.message) for w in warned]
    assert any(
        "could not store the LiveChat token in" in m and str(cache) in m and "run only" in m
        for m in messages
    ), messages
    assert terminal.prompts == 1


def rotated_pair(accounts: AccountsServer, cache: TokenCache, *, lifetime: float = -60) -> str:
    """An expired access token and its live refresh token, cached; returns the refresh token."""
    pair = accounts.pair()
    now = utcnow()
    entry = CacheEntry(
        pair["access_token"],
        now + timedelta(seconds=lifetime),
        now - timedelta(hours=8),
        scope=pair["scope"],
        refresh_token=pair["refresh_token"],
    )
    cache.put(accounts.url, "client-1", entry)
    return str(pair["refresh_token"])


def block_writes(path: Path) -> None:
    """Make the write lock a directory: reads (lock-free) work, every write fails (EISDIR)."""
    lock = path.with_name("tokens.json.lock")
    lock.unlink(missing_ok=True)
    lock.mkdir()


def test_a_renewal_whose_cache_cannot_be_written_says_the_next_run_logs_in(
    accounts: AccountsServer, tmp_path: Path
) -> None:
    path = tmp_path / "cache" / "tokens.json"
    rotated_pair(accounts, TokenCache(path))
    block_writes(path)
    source = source_for(accounts, path, None, grant="code")
    with pytest.warns(CacheWarning, match="the next run will need a login"):
        token = source.token()
    assert accounts.refresh_calls == 1
    assert token in accounts.tokens
    assert token not in path.read_text()


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs, where root can mount one."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_loses_no_login(accounts: AccountsServer, full_disk: Path) -> None:
    cache = full_disk / "cache" / "tokens.json"
    cache.parent.mkdir(mode=0o700)
    with (full_disk / "filler").open("wb", buffering=0) as filler:
        written = 1
        while written:
            try:
                written = filler.write(b"\0" * 4096)
            except OSError:
                written = 0
    token = accounts.issue()
    source = source_for(accounts, cache, scripted_login(accounts, token))
    with pytest.warns(CacheWarning, match="No space left on device"):
        assert source.token() == token


def logout(
    accounts: AccountsServer, path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    """``livechat-token logout`` in-process, for client-1 at the test server; (code, stderr)."""
    from pytest_livechat_token.cli import main  # noqa: PLC0415

    argv = ["--client-id=client-1", f"--accounts-url={accounts.url}", f"--token-cache={path}"]
    code = main(["logout", *argv])
    return code, capsys.readouterr().err


def test_logout_of_a_cache_that_cannot_be_written_is_one_line(
    accounts: AccountsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cache" / "tokens.json"
    TokenCache(path).put(accounts.url, "client-1", CacheEntry(accounts.issue(), utcnow(), utcnow()))
    block_writes(path)
    code, err = logout(accounts, path, capsys)
    assert code == 1
    assert err.count("\n") == 1
    assert "could not remove the token from" in err
    assert "the access token was revoked at LiveChat" in err


# -- the cache trusts nothing it did not create -------------------------------------------------


@pytest.fixture
def cache(tmp_path: Path) -> TokenCache:
    return TokenCache(tmp_path / "cache" / "tokens.json", lock_timeout=2)


NOW = utcnow()


def good_entry() -> CacheEntry:
    return CacheEntry("dal:abcdefgh-1234", NOW + timedelta(hours=8), NOW)


def test_a_deeply_nested_cache_is_damaged_and_replaced(cache: TokenCache) -> None:
    cache.path.parent.mkdir(mode=0o700)
    cache.path.write_text("[" * 100_000)
    with pytest.warns(CacheWarning, match="is damaged \\(nested too deeply\\)"):
        assert cache.get("u", "c") is None
    with pytest.warns(CacheWarning):
        cache.put("u", "c", good_entry())
    assert cache.get("u", "c") == good_entry()


def test_a_cache_over_one_mebibyte_is_damaged(cache: TokenCache) -> None:
    cache.path.parent.mkdir(mode=0o700)
    cache.path.write_text(json.dumps({"version": 1, "entries": {}, "pad": "x" * 1_100_000}))
    with pytest.warns(CacheWarning, match="larger than 1024 KiB"):
        assert cache.get("u", "c") is None


def test_a_fifo_is_refused_at_once(cache: TokenCache) -> None:
    cache.path.parent.mkdir(mode=0o700)
    os.mkfifo(cache.path)
    found: list[object] = []
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        reader = threading.Thread(target=lambda: found.append(cache.get("u", "c")), daemon=True)
        reader.start()
        reader.join(30)  # a read that waits for a writer would never end
        assert not reader.is_alive(), "reading a FIFO as the cache must not wait"
    assert found == [None]
    assert any("is not used: it is not a regular file" in str(w.message) for w in warned)


def test_a_symlinked_cache_is_not_followed(cache: TokenCache, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.json"
    other = TokenCache(target)
    other.put("u", "c", good_entry())
    os.chmod(target, 0o644)
    cache.path.parent.mkdir(mode=0o700)
    cache.path.symlink_to(target)
    with pytest.warns(CacheWarning, match="is not used: it is a symbolic link"):
        assert cache.get("u", "c") is None
    assert target.stat().st_mode & 0o777 == 0o644, "no chmod through the link"


def test_a_group_writable_directory_is_not_used(cache: TokenCache) -> None:
    cache.path.parent.mkdir(mode=0o700)
    TokenCache(cache.path).put("u", "c", good_entry())
    os.chmod(cache.path.parent, 0o777)  # noqa: S103 - the very thing under test
    with pytest.warns(CacheWarning, match="is writable by others \\(mode 777\\)"):
        assert cache.get("u", "c") is None
    with pytest.raises(Exception, match="writable by others"):
        cache.put("u", "c", good_entry())


def test_a_group_writable_file_is_not_used(cache: TokenCache) -> None:
    cache.put("u", "c", good_entry())
    os.chmod(cache.path, 0o620)
    with pytest.warns(CacheWarning, match="it is writable by others \\(mode 620\\)"):
        assert cache.get("u", "c") is None


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown needs root")
def test_a_cache_owned_by_another_user_is_not_used(cache: TokenCache) -> None:
    cache.put("u", "c", good_entry())
    os.chown(cache.path, 12345, 12345)
    with pytest.warns(CacheWarning, match="it is owned by another user \\(uid 12345\\)"):
        assert cache.get("u", "c") is None
    os.chown(cache.path, 0, 0)
    os.chown(cache.path.parent, 12345, 12345)
    with pytest.warns(CacheWarning, match="directory .* is owned by another user"):
        assert cache.get("u", "c") is None


# -- the loopback capture cannot be hijacked or hung --------------------------------------------


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


# -- the person: Ctrl-C, reruns, time-outs ------------------------------------------------------


def test_a_cancelled_login_is_not_asked_again_in_the_run(
    accounts: AccountsServer, tmp_path: Path
) -> None:
    terminal = ScriptedTerminal([KeyboardInterrupt(), "never asked"])
    open_terminal, opened = opener(terminal)
    source = Run(
        Settings(tmp_path / "c" / "t.json", "client-1", accounts_url=accounts.url),
        {},
        interactive=True,
        open_terminal=open_terminal,
    ).account()
    with pytest.raises(LoginCancelled, match="cancelled"):
        source.token()
    with pytest.raises(LoginFailed, match="cancelled"):
        source.token()
    assert len(opened) == 1
    assert terminal.prompts == 1


def test_time_at_the_prompt_does_not_count_against_an_alarm() -> None:
    fired: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda number, frame: fired.append(number))
    try:
        signal.setitimer(signal.ITIMER_REAL, 600)
        with alarm_paused():
            assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0), "no alarm while asked"
        assert fired == []
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 0 < left <= 600, "the alarm runs again with the time it had left"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_a_controller_waiting_for_another_login_says_so(
    accounts: AccountsServer, tmp_path: Path
) -> None:
    path = tmp_path / "cache" / "tokens.json"
    rotated_pair(accounts, TokenCache(path))
    code = (
        "import sys, time, filelock\n"
        "lock = filelock.FileLock(sys.argv[1]); lock.acquire()\n"
        "print('held', flush=True); time.sleep(60)\n"
    )
    notices: list[str] = []
    source = source_for(
        accounts, path, None, grant="code", prompt_timeout=1.0, notify=notices.append
    )
    with subprocess.Popen(
        [sys.executable, "-c", code, str(path.with_name("tokens.json.login.lock"))],
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline() == "held\n"
            assert source.renewed() is None
        finally:
            holder.kill()
    assert notices == ["Waiting for the LiveChat login in progress in another process (up to 1 s)…"]


# -- the accounts server's contract for renewals ------------------------------------------------


def test_a_rate_limited_renewal_waits_as_asked_once(
    accounts: AccountsServer, tmp_path: Path
) -> None:
    cache = TokenCache(tmp_path / "cache" / "tokens.json")
    rotated_pair(accounts, cache)
    entry = cache.get(accounts.url, "client-1")
    assert entry is not None
    accounts.rate_limited, accounts.retry_after = 1, "7"
    waited: list[float] = []
    renewed = renew(accounts.url, "client-1", entry, now=utcnow, sleep=waited.append)
    assert waited == [7.0]
    assert renewed.access_token in accounts.tokens
    assert accounts.count("POST", "/v2/token") == 2


@pytest.mark.parametrize("retry_after", [None, "3600"])
def test_a_rate_limited_renewal_keeps_the_refresh_token(
    accounts: AccountsServer, tmp_path: Path, retry_after: str | None
) -> None:
    path = tmp_path / "cache" / "tokens.json"
    refresh = rotated_pair(accounts, TokenCache(path), lifetime=300)  # stale, not expired
    accounts.rate_limited, accounts.retry_after = 5, retry_after
    source = source_for(accounts, path, None, grant="code")
    with pytest.warns(
        RenewalWarning, match="HTTP 429: temporarily_unavailable.*the cached pair is kept"
    ):
        token = source.token()
    assert accounts.count("POST", "/v2/token") == 1
    entry = TokenCache(path).get(accounts.url, "client-1")
    assert entry is not None
    assert entry.refresh_token == refresh
    assert token == entry.access_token


def test_a_refused_refresh_token_is_dropped(accounts: AccountsServer, tmp_path: Path) -> None:
    path = tmp_path / "cache" / "tokens.json"
    rotated_pair(accounts, TokenCache(path))
    accounts.refresh_tokens.clear()  # the server forgot it: invalid_grant
    source = source_for(accounts, path, None, grant="code")
    with (
        pytest.warns(RenewalWarning, match="HTTP 401: invalid_grant"),
        pytest.raises(NoTerminal),
    ):
        source.token()
    entry = TokenCache(path).get(accounts.url, "client-1")
    assert entry is not None
    assert entry.refresh_token is None


def test_tokens_shorter_than_min_ttl_are_renewed_once_a_run(
    accounts: AccountsServer, tmp_path: Path
) -> None:
    accounts.access_expires_in = 300  # shorter than the default min-ttl of 600 s
    path = tmp_path / "cache" / "tokens.json"
    rotated_pair(accounts, TokenCache(path))
    workers = [source_for(accounts, path, None, grant="code") for _ in range(4)]
    tokens = {str(worker.token()) for worker in workers for _ in range(3)}
    assert accounts.refresh_calls == 1
    assert len(tokens) == 1


def test_logout_revokes_a_refresh_token_whose_access_token_is_gone(
    accounts: AccountsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cache" / "tokens.json"
    refresh = rotated_pair(accounts, TokenCache(path))
    entry = TokenCache(path).get(accounts.url, "client-1")
    assert entry is not None
    accounts.tokens[entry.access_token].revoked = True
    code, err = logout(accounts, path, capsys)
    assert code == 0
    assert "the access token was no longer valid at LiveChat" in err
    assert "the refresh token was revoked at LiveChat" in err
    assert refresh not in accounts.refresh_tokens
    assert accounts.count("DELETE", "/v2/token") == 2


# -- masking ------------------------------------------------------------------------------------


def test_scrub_masks_every_form_and_cut_pieces() -> None:
    secret = "dal:Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA-secret"
    redact.remember(secret)
    assert redact.scrub(f"Bearer {secret}!") == "Bearer dal:…cret!"
    assert redact.scrub(quote(secret, safe="")) == "dal:…cret"
    assert secret[4:] not in redact.scrub(f"x={secret[4:]}")
    cut = f"{{'padding': 'x', 'Authorization': 'Bearer {secret[:20]}...{secret[-12:]}'}}"
    scrubbed = redact.scrub(cut)
    assert secret[4:20] not in scrubbed
    assert secret[-12:] not in scrubbed
    assert redact.scrub("nothing secret here, dal:other-token-1234") == (
        "nothing secret here, dal:other-token-1234"
    )


def test_the_decisions_are_logged_at_debug_without_a_secret(
    accounts: AccountsServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "cache" / "tokens.json"
    refresh = rotated_pair(accounts, TokenCache(path))
    source = source_for(accounts, path, None, grant="code")
    with caplog.at_level("DEBUG", logger="pytest_livechat_token"):
        token = source.token()
        source.token()
    said = [
        record.getMessage() for record in caplog.records if record.name == "pytest_livechat_token"
    ]
    assert said == [
        "no usable token cached (a refresh token)",
        f"taking the login lock {path.with_name('tokens.json.login.lock')}",
        "renewing the token with its refresh token",
        "token obtained earlier in this process",
    ]
    for secret in (token, refresh, token.partition(":")[2]):
        assert all(secret not in message for message in said)


def test_no_display_opens_no_console_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_livechat_token import browser  # noqa: PLC0415

    monkeypatch.setattr("sys.platform", "linux")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        monkeypatch.delenv(name, raising=False)
    assert browser.open_in_browser("https://a.test/") is False


def test_the_alarm_is_left_alone_off_the_main_thread() -> None:
    previous = signal.signal(signal.SIGALRM, lambda number, frame: None)
    try:
        signal.setitimer(signal.ITIMER_REAL, 30)
        seen: list[float] = []

        def elsewhere() -> None:
            with alarm_paused():
                seen.append(signal.getitimer(signal.ITIMER_REAL)[0])

        worker = threading.Thread(target=elsewhere)
        worker.start()
        worker.join(30)
        assert len(seen) == 1
        assert seen[0] > 0, "only the main thread pauses the alarm"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_report_masking_reaches_every_shape() -> None:
    from dataclasses import dataclass  # noqa: PLC0415
    from types import SimpleNamespace  # noqa: PLC0415

    from pytest_livechat_token.masking import scrub_report  # noqa: PLC0415

    secret = "dal:ReportSecret0123456789abcdef"
    redact.remember(secret)

    @dataclass
    class Frame:
        lines: list[str]
        names: dict[str, str]

    class Opaque:
        def __str__(self) -> str:
            return f"opaque {secret}"

    walked = SimpleNamespace(
        longrepr=Frame([f"x = {secret}"], {"token": secret}),
        sections=[("Captured stdout call", secret)],
        user_properties=[("token", secret), ("count", 3)],
    )
    scrub_report(walked)
    assert walked.longrepr.lines == ["x = dal:…cdef"]
    assert walked.longrepr.names == {"token": "dal:…cdef"}
    assert walked.sections == [("Captured stdout call", "dal:…cdef")]
    assert walked.user_properties == [("token", "dal:…cdef"), ("count", 3)]
    opaque = SimpleNamespace(longrepr=Opaque(), sections=[], user_properties=[])
    scrub_report(opaque)
    assert opaque.longrepr == "opaque dal:…cdef", "what the walk cannot reach is text, masked"
    skipped = SimpleNamespace(
        longrepr=("f.py", 1, f"Skipped: {secret}"), sections=[], user_properties=[]
    )
    scrub_report(skipped)
    assert skipped.longrepr == ("f.py", 1, "Skipped: dal:…cdef")
