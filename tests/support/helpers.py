"""Helpers for tests that run pytest in a pseudo-terminal (pexpect) or a subprocess."""

from __future__ import annotations

import contextlib
import hashlib
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pexpect
import pytest

if TYPE_CHECKING:
    from pytest_livechat_token._auth.terminal import Terminal
    from pytest_livechat_token._core.handed import HandOff
    from pytest_livechat_token._core.run import Run

    from .accounts_server import AccountsServer

USER_TEST = """
import hashlib, os

def test_uses_token(livechat_bearer):
    assert livechat_bearer.region == os.environ.get("EXPECT_REGION", "dal")
    if "EXPECT_TOKEN_SHA256" in os.environ:
        digest = hashlib.sha256(str(livechat_bearer).encode()).hexdigest()
        assert digest == os.environ["EXPECT_TOKEN_SHA256"]
"""
"""A user's test: it gets a token of the expected region (and, when the test said which with
``expect_token``, that very token)."""

URL_LINE = re.compile(rb"(http://127\.0\.0\.1:\d+/\?\S+)")


@contextlib.contextmanager
def held_by_another_process(lock_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A separate process that takes ``lock_path`` with filelock and keeps it until killed."""
    code = (
        "import sys, time, filelock\n"
        "lock = filelock.FileLock(sys.argv[1]); lock.acquire()\n"
        "print('held', flush=True); time.sleep(60)\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code, str(lock_path)], stdout=subprocess.PIPE, text=True
    ) as holder:
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline() == "held\n"
            yield holder
        finally:
            holder.kill()


@contextlib.contextmanager
def held_until_released(lock_path: Path) -> Iterator[Callable[[], None]]:
    """A separate process that takes ``lock_path`` with filelock and keeps it until the
    ``release()`` it yields is called (an event the test chooses), or the block ends."""
    code = (
        "import sys, filelock\n"
        "lock = filelock.FileLock(sys.argv[1]); lock.acquire()\n"
        "print('held', flush=True); sys.stdin.readline(); lock.release()\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code, str(lock_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdin is not None
        assert holder.stdout is not None
        stdin = holder.stdin

        def release() -> None:
            if not stdin.closed:
                stdin.write("done\n")
                stdin.close()

        try:
            assert holder.stdout.readline() == "held\n"
            yield release
        finally:
            release()


@contextlib.contextmanager
def refusing_port() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that refuses connections for as long as the block runs: bound
    by us and not listening, so no other process can take it meanwhile."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        port: int = held.getsockname()[1]
        yield port


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def cache_token(
    cache_file: Path,
    accounts_url: str,
    token: str,
    seconds: float = 28800,
    *,
    account: str = "default",
    account_id: str | None = None,
    refresh_token: str | None = None,
    scope: str = "chats--all:ro",
    now: datetime | None = None,
) -> None:
    """Put ``token`` in the cache for client-1 and ``account``, valid for ``seconds`` more
    (from ``now``, the real time by default)."""
    from datetime import timedelta

    from pytest_livechat_token._base.bearer import utcnow
    from pytest_livechat_token._store.cache import CacheEntry, TokenCache

    now = now or utcnow()
    entry = CacheEntry(
        token,
        now + timedelta(seconds=seconds),
        now,
        scope=scope,
        refresh_token=refresh_token,
        account_id=account_id,
        organization_id="org-1" if account_id else None,
    )
    TokenCache(cache_file).put(accounts_url, "client-1", entry, account)


CLOCK = """
import os
from datetime import datetime

import pytest_livechat_token._base.bearer

_frozen = datetime.fromisoformat(os.environ["FROZEN_NOW"])
pytest_livechat_token._base.bearer.utcnow = lambda: _frozen
"""
"""The plugin's clock stopped at ``FROZEN_NOW``: a pytest plugin (``-p frozen_clock``, written by
``freeze_clock``), or the first lines of a ``python -c`` (``cli``). It must run before the core
is imported, which binds ``utcnow``: a plugin given with ``-p`` does."""


def freeze_clock(
    monkeypatch: pytest.MonkeyPatch, directory: Path | None = None, at: datetime | None = None
) -> datetime:
    """Stop the plugin's clock at ``at`` (this moment by default) in the processes a test
    starts: what they print of a token's time left is then exact (``8 h 0 min`` for a token
    cached with 8 hours from the returned moment), however long they take to start. With
    ``directory``, pytest runs started there take ``-p frozen_clock``."""
    from pytest_livechat_token._base.bearer import utcnow

    now = at or utcnow()
    monkeypatch.setenv("FROZEN_NOW", now.isoformat())
    if directory is not None:
        (directory / "frozen_clock.py").write_text(CLOCK)
    return now


def cache_pair(
    cache_file: Path,
    accounts: AccountsServer,
    *,
    account: str = "supervisor",
    account_id: str = "acc-2",
    seconds: float = 28800,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A new access and refresh token pair of the user ``account_id`` at the test server,
    cached for ``account`` with ``seconds`` left; returns the pair."""
    pair = accounts.pair(account_id=account_id)
    cache_token(
        cache_file,
        accounts.url,
        pair["access_token"],
        seconds,
        account=account,
        account_id=account_id,
        refresh_token=pair["refresh_token"],
        now=now,
    )
    return pair


def expect_token(monkeypatch: pytest.MonkeyPatch, token: str) -> None:
    """Tell the user test written by ``USER_TEST`` which token it must receive."""
    monkeypatch.setenv("EXPECT_TOKEN_SHA256", hashlib.sha256(token.encode()).hexdigest())


class Spawner:
    """Runs pytest in real pseudo-terminals, each with its own transcript."""

    def __init__(self, pytester: pytest.Pytester, accounts_url: str) -> None:
        self.pytester = pytester
        self.accounts_url = accounts_url
        self.logs: list[Path] = []
        self._files: list[Any] = []

    def spawn(
        self, *args: str, timeout: float = 30, client: bool = True, browser: bool = False
    ) -> Any:
        number = len(self.logs)
        log = self.pytester.path / f"spawn-{number}.out"
        command = [
            "-m",
            "pytest",
            f"--basetemp={self.pytester.path / f'temp-pexpect-{number}'}",
            "-p",
            "no:cacheprovider",
            f"--livechat-accounts-url={self.accounts_url}",
            *([] if browser else ["--livechat-no-browser"]),
            *(["--livechat-client-id=client-1"] if client else []),
            *args,
        ]
        stream = log.open("wb")
        self._files.append(stream)
        self.logs.append(log)
        child = pexpect.spawn(sys.executable, command, timeout=timeout, cwd=str(self.pytester.path))
        child.logfile_read = stream  # what the terminal showed, not what we typed
        return child

    def transcript(self, number: int = -1) -> str:
        """All that one pseudo-terminal showed (the last one by default)."""
        return self.logs[number].read_bytes().decode("utf-8", "replace")

    def close(self) -> None:
        for stream in self._files:
            stream.close()


def run_against(
    pytester: pytest.Pytester, accounts: AccountsServer, *args: str, api_url: str | None = None
) -> pytest.RunResult:
    """A pytest run in a subprocess as client-1, its accounts server and APIs the test's
    (``api_url``: another, the test RTM server's)."""
    return pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--livechat-client-id=client-1",
        f"--livechat-accounts-url={accounts.url}",
        f"--livechat-api-url={api_url or f'{accounts.url}/v3.6/'}",
        *args,
    )


def cli_against(accounts: AccountsServer, *args: str) -> subprocess.CompletedProcess[str]:
    """``livechat-token ARGS`` as client-1, its accounts server and APIs the test's, with
    nothing on stdin."""
    settings = ["--client-id=client-1", f"--accounts-url={accounts.url}"]
    settings.append(f"--api-url={accounts.url}/v3.6/")
    return subprocess.run(
        [sys.executable, "-m", "pytest_livechat_token", *args, *settings],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def pytest_words(accounts_url: str, *args: str) -> list[str]:
    """``python -m pytest`` against the test accounts server for client-1, no browser, no
    cache provider, and ``args``: the command a shell around pytest runs."""
    return [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        f"--livechat-accounts-url={accounts_url}",
        "--livechat-no-browser",
        "--livechat-client-id=client-1",
        *args,
    ]


def read_login_url(child: Any) -> tuple[str, str]:
    """Wait for the printed authorization address; return it and its state."""
    child.expect(URL_LINE)
    url = child.match.group(1).decode()
    state = parse_qs(urlsplit(url).query)["state"][0]
    return url, state


def prompt_state(child: Any) -> str:
    """Wait for the printed login address and the paste prompt; return the login's state."""
    _, state = read_login_url(child)
    child.expect("Paste the address")
    return state


def paste(child: Any, token: str, state: str | None, **fields: Any) -> None:
    """Paste, as a person would, the address the browser landed on, carrying ``token`` (and
    ``fields``: ``expires_in=...``)."""
    from .accounts_server import redirect_fragment

    child.sendline("https://localhost/" + redirect_fragment(token, state, **fields))


def paste_redirect(child: Any, token: str) -> None:
    """Answer the login prompt as a person would: paste the address the browser landed on."""
    paste(child, token, prompt_state(child))


def make_run(
    accounts_url: str,
    path: Path,
    terminal: Terminal | None = None,
    *,
    environ: dict[str, str] | None = None,
    handed: HandOff | None = None,
    now: Callable[[], datetime] | None = None,
    notify: Callable[[str], None] | None = None,
    **settings: Any,
) -> Run:
    """The one in-process run of the core for tests: client-1 at ``accounts_url``, the cache at
    ``path``, no browser, a 60 s prompt; ``terminal`` is the person (None: nobody to ask)."""
    from pytest_livechat_token._base.bearer import utcnow
    from pytest_livechat_token._base.settings import Settings
    from pytest_livechat_token._core.run import Run

    values: dict[str, Any] = {
        "client_id": "client-1",
        "accounts_url": accounts_url,
        "token_cache": path,
        "open_browser": False,
        "prompt_timeout": 60,  # waits end on events; the time-out path has its own tests
        **settings,
    }
    return Run(
        Settings(**values),
        environ or {},
        interactive=terminal is not None,
        open_terminal=lambda: terminal,
        handed=handed,
        now=now or utcnow,
        notify=notify,
    )


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""How the tests start Chromium: headless, as root, with none of its own network traffic."""


def chromium() -> str:
    """Debian's Chromium; a skip where it is not installed, a failure where CI needs it
    (``LIVECHAT_TESTS_NEED_CHROMIUM=1``, which .ci/run sets)."""
    import os
    import shutil

    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("LIVECHAT_TESTS_NEED_CHROMIUM") == "1":
            pytest.fail("Chromium is needed for this test: apt-get install chromium (.ci/run does)")
        pytest.skip("Chromium is not installed (apt-get install chromium runs this test)")
    return found


def outcomes(transcript: str) -> dict[str, int]:
    """The outcomes of a pytest run's summary line in a transcript (``{"passed": 1}``), parsed
    as pytester parses them: never a substring of the summary."""
    return pytest.RunResult.parse_summary_nouns(transcript.splitlines())
