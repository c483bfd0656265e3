"""The process locks beside the cache file (``filelock``, imported when a lock is first taken).

- ``writing()``: ``tokens.json.lock``, held for each read-modify-write of the file;
- ``login(account)``: ``tokens.json.login.lock`` (``login-NAME`` for another account), held
  while that account's token is renewed or logged in: one process does it, the others wait;
- ``terminal()``: ``tokens.json.terminal.lock``, held while the person is asked, whatever the
  account (always taken inside an account's login lock, so no two processes deadlock);
- ``customer(name)``: ``tokens.json.customer-NAME.lock``, held while a customer is fetched.

The operating system releases the locks of a process that dies. Lock files are never deleted.
A wait for another process's lock is not a test's time: pytest-timeout's alarm is paused while
it lasts, and it gives up only when the queue has not moved for the whole time-out (a process
ahead of us storing what it obtained is a move).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .._base.errors import CacheLockTimeout, CacheUnusable, printable, reason
from .._base.settings import DEFAULT_ACCOUNT
from .private_file import PRIVATE_FILE, PrivateFile

LOCK_TIMEOUT = 10.0
"""How long a read-modify-write waits for the write lock."""


class Locks:
    """The locks of the cache at ``path``. ``warn_once`` says a problem once (a run takes the
    locks many times)."""

    def __init__(
        self,
        path: Path,
        warn_once: Callable[[str], None],
        *,
        lock_timeout: float = LOCK_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._file = PrivateFile(path)
        self.path = path
        self.lock_timeout = lock_timeout
        self._warn_once = warn_once
        self._clock = clock
        self._sleep = sleep

    def _beside(self, suffix: str) -> Path:
        return self.path.with_name(f"{self.path.name}.{suffix}.lock")

    @property
    def write_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def login_path(self, account: str = DEFAULT_ACCOUNT) -> Path:
        """The lock held while a token of ``account`` is obtained (renewed or logged in)."""
        return self._beside("login" if account == DEFAULT_ACCOUNT else f"login-{account}")

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Held for one read-modify-write; ``CacheLockTimeout`` after ``lock_timeout``, and
        ``CacheUnusable`` or ``OSError`` when the directory is not ours or cannot be made."""
        self._file.make_dir()
        lock = _file_lock(self.write_path)
        if not _acquire(lock, self.lock_timeout):
            raise CacheLockTimeout(
                f"The LiveChat token cache stayed locked for {self.lock_timeout:.0f} s "
                f"({printable(str(self.write_path))}). If no other pytest or livechat-token is "
                "running, check that nothing else holds that file."
            )
        try:
            yield
        finally:
            lock.release()

    def login(
        self, timeout: float, on_wait: Callable[[], None], account: str = DEFAULT_ACCOUNT
    ) -> contextlib.AbstractContextManager[bool]:
        """Held while a token of ``account`` is obtained. Yields whether another process held
        it first (``on_wait`` was then called once); the wait ends after ``timeout``."""
        return self._held(
            self.login_path(account),
            timeout,
            on_wait,
            f"Another process has been logging in to LiveChat for {timeout:.0f} s",
        )

    def terminal(
        self, timeout: float, on_wait: Callable[[], None]
    ) -> contextlib.AbstractContextManager[bool]:
        """Held while the person is asked, whatever the account: logins of several accounts
        come one after the other."""
        return self._held(
            self._beside("terminal"),
            timeout,
            on_wait,
            f"Another process has been asking for a LiveChat login for {timeout:.0f} s",
        )

    def customer(
        self, name: str, timeout: float, on_wait: Callable[[], None]
    ) -> contextlib.AbstractContextManager[bool]:
        """Held while a token of the customer ``name`` is fetched: one fetch for all processes."""
        return self._held(
            self._beside(f"customer-{name}"),
            timeout,
            on_wait,
            f"Another process has been fetching a LiveChat customer token for {timeout:.0f} s",
        )

    def bot(
        self, name: str, timeout: float, on_wait: Callable[[], None]
    ) -> contextlib.AbstractContextManager[bool]:
        """Held while the bot ``name`` is made or its token issued: once for all processes."""
        return self._held(
            self._beside(f"bot-{name}"),
            timeout,
            on_wait,
            f"Another process has been making a LiveChat bot token for {timeout:.0f} s",
        )

    @contextlib.contextmanager
    def _held(
        self, path: Path, timeout: float, on_wait: Callable[[], None], too_long: str
    ) -> Iterator[bool]:
        """Where the lock cannot be made (a cache that is not ours, a read-only directory), it
        says so once and the work goes on without it."""
        lock = _file_lock(path)
        try:
            self._file.make_dir()
            acquired: bool | None = _acquire(lock, 0)
        except (OSError, CacheUnusable) as error:
            self._warn_once(
                f"cannot take the lock {printable(str(path))} ({reason(error)}); going on "
                "without it."
            )
            acquired = None
        if acquired is None:
            yield False
            return
        if not acquired:
            on_wait()
            if not self._wait(lock, timeout):
                raise CacheLockTimeout(
                    f"{too_long} (it holds {printable(str(path))}). Finish or stop that "
                    "login, then run again."
                )
        try:
            yield not acquired
        finally:
            lock.release()

    def _wait(self, lock: Any, timeout: float) -> bool:
        """Take ``lock`` when the process ahead lets it go; False once the queue has not moved
        for ``timeout`` seconds. Paused: pytest-timeout's alarm (signal method) does not run."""
        from .._auth.terminal import alarm_paused  # only a wait needs it

        seen = self._progress()
        deadline = self._clock() + timeout
        with alarm_paused():
            while not _acquire(lock, 0):
                now = self._clock()
                if (mark := self._progress()) != seen:
                    seen, deadline = mark, now + timeout
                if now >= deadline:
                    return False
                self._sleep(min(_POLL, deadline - now))
        return True

    def _progress(self) -> tuple[int, int, int] | None:
        """What changes when a process stores what it obtained: the cache file's identity,
        time and size."""
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return info.st_ino, info.st_mtime_ns, info.st_size


def no_cache_place() -> Path:
    """Where the locks of a run with no cache are taken (not beside ``/dev/null``): a private
    directory of this user's in the system's temporary directory, checked and made 0700 as
    the cache's is."""
    import tempfile  # only a run with no cache

    uid = os.geteuid() if hasattr(os, "geteuid") else 0
    return Path(tempfile.gettempdir()) / f"pytest-livechat-token-{uid}" / "no-cache"


_POLL = 0.05
"""How often a wait looks again (as filelock does)."""


def _file_lock(path: Path) -> Any:
    import filelock  # kept off pytest's start-up path

    return filelock.FileLock(str(path), mode=PRIVATE_FILE)


def _acquire(lock: Any, timeout: float) -> bool:
    """Take a ``filelock`` lock within ``timeout`` seconds; False when it stayed taken."""
    import filelock

    try:
        lock.acquire(timeout=timeout)
    except filelock.Timeout:
        return False
    return True
