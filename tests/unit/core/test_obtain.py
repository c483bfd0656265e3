"""Every decision of ``TokenSource``, in-process: a table of situations against the real test
accounts server, a real cache on disk and a scripted person."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from pytest_livechat_token import RenewalWarning
from pytest_livechat_token._base.bearer import utcnow
from pytest_livechat_token._base.errors import (
    LiveChatTokenError,
    LoginCancelled,
    LoginFailed,
    NoTerminal,
)
from pytest_livechat_token._base.settings import Settings
from pytest_livechat_token._core.customers import CustomerSource
from pytest_livechat_token._core.handed import HandOff
from pytest_livechat_token._core.obtain import TokenSource, source_of
from pytest_livechat_token._core.run import Run
from pytest_livechat_token._store.cache import CacheEntry, CacheWarning, TokenCache

from ...support.accounts_server import AccountsServer, redirect_fragment
from ...support.helpers import held_until_released, make_run
from ...support.inprocess import block_writes, logout, rotated_pair, scripted_login, source_for
from ...support.scripted import ScriptedTerminal, Step, opener


@dataclass
class World:
    """One situation: the server, the cache, what the person will do, what the process has."""

    accounts: AccountsServer
    path: Path
    environ: dict[str, str] = field(default_factory=dict)
    handed: HandOff | None = None
    steps: list[Step] | None = None  # None: no terminal
    grant: str = "implicit"
    terminal: ScriptedTerminal | None = None

    def cache(self, *, seconds: float, refresh: bool = False, lifetime: float = 28800) -> str:
        """A cached token with ``seconds`` left (and a live refresh token); returns it."""
        pair = self.accounts.pair()
        now = utcnow()
        entry = CacheEntry(
            str(pair["access_token"]),
            now + timedelta(seconds=seconds),
            now + timedelta(seconds=seconds - lifetime),
            scope="chats--all:ro",
            refresh_token=str(pair["refresh_token"]) if refresh else None,
        )
        TokenCache(self.path).put(self.accounts.url, "client-1", entry)
        return entry.access_token

    def source(self) -> TokenSource:
        self.terminal = ScriptedTerminal(list(self.steps)) if self.steps is not None else None
        run = make_run(
            self.accounts.url,
            self.path,
            self.terminal,
            environ=self.environ,
            handed=self.handed,
            grant=self.grant,
        )
        return source_of(run)

    def pastes(self, token: str) -> Step:
        """The person pastes the redirect of the login shown, carrying ``token``."""
        return lambda wake: "https://localhost/" + redirect_fragment(token, self.state())

    def pastes_code(self) -> Step:
        """The person logs in with the code grant and pastes where the browser landed."""

        def step(wake: int | None) -> str:
            url = next(word for word in self.shown().split() if "code_challenge=" in word)
            return str(httpx.get(url, follow_redirects=False).headers["Location"])

        return step

    def shown(self) -> str:
        assert self.terminal is not None
        return self.terminal.text

    def state(self) -> str:
        url = next(word for word in self.shown().split() if "state=" in word)
        return parse_qs(urlsplit(url).query)["state"][0]


@pytest.fixture
def world(accounts: AccountsServer, tmp_path: Path) -> World:
    return World(accounts, tmp_path / "cache" / "tokens.json")


Case = Callable[[World], str | type[LiveChatTokenError]]
"""Sets the world up; returns the token the source must give, or the error it must raise."""


def env_token(w: World) -> str:
    w.environ["LIVECHAT_BEARER_TOKEN"] = "Bearer fra%3Aenv-token-1234"
    w.cache(seconds=3600)
    return "fra:env-token-1234"


def handed_fresh(w: World) -> str:
    token = w.accounts.issue()
    expires = (utcnow() + timedelta(hours=1)).isoformat()
    w.handed = {"accounts": {"default": {"token": token, "expires_at": expires}}}
    return token


def handed_expired_then_cache(w: World) -> str:
    expired = (utcnow() - timedelta(seconds=1)).isoformat()
    w.handed = {"accounts": {"default": {"token": w.accounts.issue(), "expires_at": expired}}}
    return w.cache(seconds=3600)


def handed_damaged_then_cache(w: World) -> str:
    w.handed = {"accounts": {"default": {"token": "dal:x\ny", "expires_at": "not a time"}}}
    return w.cache(seconds=3600)


def handed_without_a_time_zone_then_cache(w: World) -> str:
    naive = "2099-01-01T00:00:00"
    w.handed = {"accounts": {"default": {"token": w.accounts.issue(), "expires_at": naive}}}
    return w.cache(seconds=3600)


def cache_fresh(w: World) -> str:
    w.steps = ["never pasted"]
    return w.cache(seconds=3600)


def cache_stale_login(w: World) -> str:
    w.cache(seconds=300)  # less than min-ttl (600 s)
    token = w.accounts.issue()
    w.steps = [w.pastes(token)]
    return token


def cache_stale_no_terminal(w: World) -> type[LiveChatTokenError]:
    w.cache(seconds=300)
    return NoTerminal


def nothing_no_terminal(w: World) -> type[LiveChatTokenError]:
    return NoTerminal


def refresh_only_no_terminal(w: World) -> str:
    w.cache(seconds=-60, refresh=True)
    return "renewed"


def refresh_refused_then_login(w: World) -> str:
    w.cache(seconds=-60, refresh=True)
    w.accounts.refresh_tokens.clear()
    token = w.accounts.issue()
    w.steps = [w.pastes(token)]
    return token


def refresh_unreachable_still_valid(w: World) -> str:
    token = w.cache(seconds=300, refresh=True)
    w.accounts.stop()
    return token


def refresh_unreachable_expired(w: World) -> type[LiveChatTokenError]:
    w.cache(seconds=-60, refresh=True)
    w.accounts.stop()
    return LoginFailed


def refresh_rate_limited_still_valid(w: World) -> str:
    token = w.cache(seconds=300, refresh=True)
    w.accounts.rate_limited, w.accounts.retry_after = 3, None
    return token


def pasted_token_refused_then_good(w: World) -> str:
    token = w.accounts.issue()
    w.steps = [w.pastes("dal:never-issued-token"), w.pastes(token)]
    return token


def pasted_token_of_another_app(w: World) -> str:
    token = w.accounts.issue()
    w.steps = [w.pastes(w.accounts.issue("client-2")), w.pastes(token)]
    return token


def three_bad_pastes(w: World) -> type[LiveChatTokenError]:
    w.steps = ["", "nonsense", "https://localhost/#nothing=here"]
    return LoginFailed


def time_out_at_the_prompt(w: World) -> type[LiveChatTokenError]:
    w.steps = [TimeoutError()]
    return LoginFailed


def end_of_input(w: World) -> type[LiveChatTokenError]:
    w.steps = [EOFError()]
    return LoginFailed


def code_grant_login(w: World) -> str:
    w.grant = "code"
    w.steps = [w.pastes_code()]
    return "issued"


def info_unreachable_uses_the_paste(w: World) -> str:
    token = "dal:offline-token-1234"
    w.accounts.stop()
    w.steps = [w.pastes(token)]
    return token


CASES: list[Case] = [
    env_token,
    handed_fresh,
    handed_expired_then_cache,
    handed_damaged_then_cache,
    handed_without_a_time_zone_then_cache,
    cache_fresh,
    cache_stale_login,
    cache_stale_no_terminal,
    nothing_no_terminal,
    refresh_only_no_terminal,
    refresh_refused_then_login,
    refresh_unreachable_still_valid,
    refresh_unreachable_expired,
    refresh_rate_limited_still_valid,
    pasted_token_refused_then_good,
    pasted_token_of_another_app,
    three_bad_pastes,
    time_out_at_the_prompt,
    end_of_input,
    code_grant_login,
    info_unreachable_uses_the_paste,
]


@pytest.mark.filterwarnings("ignore::pytest_livechat_token.RenewalWarning")
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__)
def test_where_the_token_comes_from(world: World, case: Case) -> None:
    expected = case(world)
    source = world.source()
    if isinstance(expected, type):
        with pytest.raises(expected) as raised:
            source.token()
        assert "\n" not in str(raised.value)
        return
    token = source.token()
    if expected == "renewed":
        assert world.accounts.refresh_calls == 1
        assert token in world.accounts.tokens
    elif expected == "issued":
        assert token in world.accounts.tokens
    else:
        assert token == expected
    assert source.token() == token, "asked again, the same token, with nothing more asked"
    if world.terminal is not None:
        assert world.terminal.closed or world.terminal.prompts == 0


def test_a_forced_login_asks_even_with_a_fresh_token(world: World) -> None:
    world.cache(seconds=3600)
    token = world.accounts.issue()
    world.steps = [world.pastes(token)]
    assert world.source().login(force=True) == token
    assert TokenCache(world.path).get(world.accounts.url, "client-1") is not None


def test_a_forced_login_revokes_the_pair_it_replaced(world: World) -> None:
    """Once the new pair is stored, the one it replaced is revoked at LiveChat (no cache holds
    it any more: logout could not reach it)."""
    world.grant = "code"
    old = world.accounts.pair()
    now = utcnow()
    entry = CacheEntry(
        old["access_token"], now + timedelta(hours=1), now, refresh_token=old["refresh_token"]
    )
    TokenCache(world.path).put(world.accounts.url, "client-1", entry)
    world.steps = [world.pastes_code()]
    token = world.source().login(force=True)
    stored = TokenCache(world.path).get(world.accounts.url, "client-1")
    assert stored is not None
    assert stored.access_token == token
    assert world.accounts.tokens[old["access_token"]].revoked
    assert old["refresh_token"] not in world.accounts.refresh_tokens
    assert stored.refresh_token in world.accounts.refresh_tokens, "the new pair stays live"
    assert not world.accounts.tokens[token].revoked
    assert "The token it replaces was revoked at LiveChat." in world.shown()


def test_a_forced_login_keeps_the_environments_refresh_token(world: World) -> None:
    """A refresh token from LIVECHAT_REFRESH_TOKEN is the secret store's, not the cache's."""
    pair = world.accounts.pair()
    refresh = str(pair["refresh_token"])
    world.environ["LIVECHAT_REFRESH_TOKEN"] = refresh
    now = utcnow()
    entry = CacheEntry(pair["access_token"], now + timedelta(hours=1), now, refresh_token=refresh)
    TokenCache(world.path).put(world.accounts.url, "client-1", entry)
    world.steps = [world.pastes(world.accounts.issue())]
    world.source().login(force=True)
    assert refresh in world.accounts.refresh_tokens


@pytest.mark.parametrize(("cached", "consent"), [(True, ["consent"]), (False, None)])
def test_logging_in_again_over_a_cached_token_asks_for_consent(
    world: World, cached: bool, consent: list[str] | None
) -> None:
    """``--livechat-login`` after scopes were added to the app (Authorization > OAuth 2.1:
    ``prompt=consent``); a first login asks nothing more than LiveChat would."""
    if cached:
        world.cache(seconds=3600)
    world.steps = [world.pastes(world.accounts.issue())]
    world.source().login(force=True)
    assert world.terminal is not None
    url = next(word for word in world.terminal.text.split() if "response_type=" in word)
    assert parse_qs(urlsplit(url).query).get("prompt") == consent


def test_a_renewal_that_keeps_failing_warns_without_a_terminal(world: World) -> None:
    kept = world.cache(seconds=300, refresh=True)
    world.accounts.rate_limited, world.accounts.retry_after = 3, None
    with pytest.warns(RenewalWarning, match="the cached pair is kept"):
        assert world.source().token() == kept


def test_another_process_logging_in_is_waited_for_not_asked_again(world: World) -> None:
    """While another process holds the login lock, this one waits (and says so); when the
    other's token is in the cache, it is used: one prompt for all processes."""
    with held_until_released(world.path.with_name("tokens.json.login.lock")) as release:
        world.steps = ["never pasted"]
        source = world.source()
        waiting = threading.Event()
        assert world.terminal is not None
        terminal = world.terminal

        def say(text: str) -> None:
            terminal.shown.append(text)
            waiting.set()

        terminal.say = say  # type: ignore[method-assign]
        found: list[object] = []
        worker = threading.Thread(target=lambda: found.append(source.token()))
        worker.start()
        assert waiting.wait(30)
        token = world.cache(seconds=3600)  # what the other process's login stored
        release()
        worker.join(30)
        assert found == [token]
        assert world.terminal.prompts == 0
        assert "Waiting for the LiveChat login in progress" in world.terminal.text


def test_after_waiting_for_a_login_a_cache_that_keeps_nothing_means_a_login_here(
    world: World, tmp_path: Path
) -> None:
    """What the other process obtained could not be stored (the cache is a link it refuses):
    this one logs in for itself instead of failing as if the other's login had failed."""
    world.path.parent.mkdir(mode=0o700, parents=True)
    world.path.symlink_to(tmp_path / "elsewhere.json")
    token = world.accounts.issue()
    with held_until_released(world.path.with_name("tokens.json.login.lock")) as release:
        world.steps = [world.pastes(token)]
        source = world.source()
        assert world.terminal is not None
        terminal, waiting = world.terminal, threading.Event()
        say = terminal.say

        def said(text: str) -> None:
            say(text)
            if "Waiting for the LiveChat login in progress" in text:
                waiting.set()

        terminal.say = said  # type: ignore[method-assign]
        found: list[object] = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CacheWarning)  # the link, said elsewhere
            worker = threading.Thread(target=lambda: found.append(source.token()))
            worker.start()
            assert waiting.wait(30)
            release()
            worker.join(30)
    assert found == [token]
    assert world.terminal is not None
    assert world.terminal.prompts == 1


def test_a_login_whose_cache_cannot_be_written_still_serves_the_run(
    accounts: AccountsServer, tmp_path: Path
) -> None:
    cache = tmp_path / "cache" / "tokens.json"
    cache.parent.write_text("")  # a file where the directory should be: every write fails
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


def test_a_cancelled_login_is_not_asked_again_in_the_run(
    accounts: AccountsServer, tmp_path: Path
) -> None:
    terminal = ScriptedTerminal([KeyboardInterrupt(), "never asked"])
    open_terminal, opened = opener(terminal)
    source = source_of(
        Run(
            Settings(tmp_path / "c" / "t.json", "client-1", accounts_url=accounts.url),
            {},
            interactive=True,
            open_terminal=open_terminal,
        )
    )
    with pytest.raises(LoginCancelled, match="cancelled"):
        source.token()
    with pytest.raises(LoginFailed, match="cancelled"):
        source.token()
    assert len(opened) == 1
    assert terminal.prompts == 1


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


def test_a_login_never_overwrites_a_newer_release_s_cache(
    accounts: AccountsServer, tmp_path: Path
) -> None:
    """The default cache path is shared by every project of the user: a file a newer release
    wrote (format 4) is neither read nor written by this one, even after a login; the token
    serves this run, and the warning says it was not stored."""
    path = tmp_path / "cache" / "tokens.json"
    path.parent.mkdir(mode=0o700)
    newer = json.dumps({"version": 4, "accounts": {"whatever": "a newer release keeps"}})
    path.write_text(newer)
    path.chmod(0o600)
    token = accounts.issue()
    source = source_for(accounts, path, scripted_login(accounts, token))
    with pytest.warns(CacheWarning) as warned:
        assert source.token() == token
    said = " ".join(str(warning.message) for warning in warned)
    assert "newer pytest-livechat-token (cache format version 4)" in said
    assert "could not store the LiveChat token" in said
    assert path.read_text() == newer


@pytest.fixture
def interrupted_when_asked(accounts: AccountsServer) -> Iterator[Callable[[str], None]]:
    """``interrupt(path)``: once a POST to ``path`` has reached the server (which then holds its
    answer), Ctrl-C arrives in this (the main) thread; then the answer is let go. Events, not
    sleeps, order the steps."""
    release = threading.Event()

    def ctrl_c(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGUSR1, ctrl_c)
    main = threading.main_thread().ident
    assert main is not None

    def interrupt(path: str) -> None:
        accounts.hold[("POST", path)] = release

        def when_asked() -> None:
            accounts.arrived.wait(30)
            signal.pthread_kill(main, signal.SIGUSR1)
            release.set()

        threading.Thread(target=when_asked, daemon=True).start()

    try:
        yield interrupt
    finally:
        release.set()
        signal.signal(signal.SIGUSR1, previous)


def test_a_renewal_cut_short_by_ctrl_c_is_stored_all_the_same(
    accounts: AccountsServer, tmp_path: Path, interrupted_when_asked: Callable[[str], None]
) -> None:
    """Ctrl-C (or pytest-timeout's signal) after the server rotated the pair: the renewal ends
    within its own deadline and stores the new pair before the interruption goes on, so the
    next run renews silently instead of logging in."""
    path = tmp_path / "cache" / "tokens.json"
    old = rotated_pair(accounts, TokenCache(path))
    interrupted_when_asked("/v2/token")
    with pytest.raises(KeyboardInterrupt):
        source_for(accounts, path, None, grant="code").token()
    entry = TokenCache(path).get(accounts.url, "client-1")
    assert entry is not None
    assert entry.refresh_token != old
    assert entry.refresh_token in accounts.refresh_tokens, "the live refresh token is cached"
    assert entry.access_token in accounts.tokens


def test_a_new_customer_cut_short_by_ctrl_c_is_stored_all_the_same(
    accounts: AccountsServer, tmp_path: Path, interrupted_when_asked: Callable[[str], None]
) -> None:
    path = tmp_path / "cache" / "tokens.json"
    agent = accounts.issue(scope="chats--all:rw,customers:own")
    interrupted_when_asked("/v2/customer/token")
    run = make_run(accounts.url, path, environ={"LIVECHAT_BEARER_TOKEN": agent})
    with pytest.raises(KeyboardInterrupt):
        CustomerSource(run).token("buyer")
    entry = TokenCache(path).get_customer(accounts.url, "client-1", "buyer")
    assert entry is not None
    assert entry.entity_id in accounts.customer_ids


@pytest.mark.parametrize(
    ("step", "said"),
    [
        (TimeoutError(), "No address was pasted within 60 s"),
        (EOFError(), "input ended before an address was pasted"),
        (KeyboardInterrupt(), "The LiveChat login was cancelled (Ctrl-C)."),
    ],
    ids=["time-out", "end-of-input", "ctrl-c"],
)
def test_a_prompt_that_ends_without_an_answer_says_so_at_once_and_lingers(
    world: World, step: BaseException, said: str
) -> None:
    """Within the login's hush, on the terminal itself (not only in the test's error), and the
    terminal keeps what is typed later unseen (``linger``)."""
    world.steps = [step]
    with pytest.raises(LoginFailed):
        world.source().token()
    assert world.terminal is not None
    assert world.terminal.hushed == 1
    assert world.terminal.lingering
    last = world.terminal.shown[-1]
    assert last.startswith("  ✗ ")
    assert said in last
    assert last.endswith("What you type now is not shown, and is dropped.\n")
