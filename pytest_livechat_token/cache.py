"""The on-disk token cache: one private JSON file, file-locked, written atomically.

Every read-modify-write holds the lock; see ``TokenCache._reading`` for plain reads.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .bearer import BearerToken
from .errors import CacheLockTimeout, warn

FORMAT_VERSION = 1
LOCK_TIMEOUT = 10.0
_PRIVATE_FILE = 0o600
_PRIVATE_DIR = 0o700


class CacheWarning(UserWarning):
    """The cache file could not be used as it was; the run goes on without it."""


@dataclass(frozen=True)
class CacheEntry:
    """One cached token, for one accounts server and client id."""

    access_token: str = field(repr=False)
    expires_at: datetime
    obtained_at: datetime
    token_type: str = "Bearer"
    scope: str | None = None
    refresh_token: str | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        document = {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_at": self.expires_at.isoformat(),
            "obtained_at": self.obtained_at.isoformat(),
            "scope": self.scope,
        }
        if self.refresh_token is not None:
            document["refresh_token"] = self.refresh_token
        return document

    @classmethod
    def from_json(cls, raw: object) -> CacheEntry:
        """Raises ValueError (or TypeError) for anything that is not a well-formed entry."""
        if not isinstance(raw, dict):
            raise TypeError("entry is not an object")
        token, token_type, scope = (
            raw["access_token"],
            raw.get("token_type", "Bearer"),
            raw.get("scope"),
        )
        if not isinstance(token, str) or not token or not isinstance(token_type, str):
            raise TypeError("access_token and token_type must be strings")
        if scope is not None and not isinstance(scope, str):
            raise TypeError("scope must be a string")
        refresh = raw.get("refresh_token")
        if refresh is not None and (not isinstance(refresh, str) or not refresh):
            raise TypeError("refresh_token must be a string")
        expires_at, obtained_at = _aware(raw["expires_at"]), _aware(raw["obtained_at"])
        return cls(token, expires_at, obtained_at, token_type, scope, refresh)

    def bearer(self) -> BearerToken:
        return BearerToken(self.access_token, expires_at=self.expires_at, scope=self.scope)


def _aware(raw: object) -> datetime:
    if not isinstance(raw, str):
        raise TypeError("a time must be an ISO 8601 string")
    moment = datetime.fromisoformat(raw)
    if moment.tzinfo is None:
        raise ValueError("a time must carry its UTC offset")
    return moment


def _empty() -> dict[str, Any]:
    return {"version": FORMAT_VERSION, "entries": {}}


class TokenCache:
    """Tokens by (accounts URL, client id) in one file; every access under a sibling lock file."""

    def __init__(
        self,
        path: Path,
        *,
        lock_timeout: float = LOCK_TIMEOUT,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.path = path
        self.lock_path = path.with_name(path.name + ".lock")
        self.login_lock_path = path.with_name(path.name + ".login.lock")
        self.lock_timeout = lock_timeout
        self._warn = warn or _warn

    # -- public operations ---------------------------------------------------------------------

    def get(self, accounts_url: str, client_id: str) -> CacheEntry | None:
        with self._reading():
            return self._entries_of(self._load()).get((accounts_url, client_id))

    def put(self, accounts_url: str, client_id: str, entry: CacheEntry) -> None:
        """Store ``entry``; the other good entries stay, damaged ones are dropped."""
        with self._locked():
            entries = self._entries_of(self._load())
            entries[(accounts_url, client_id)] = entry
            self._write(entries)

    def remove(self, accounts_url: str, client_id: str) -> CacheEntry | None:
        with self._locked():
            entries = self._entries_of(self._load())
            found = entries.pop((accounts_url, client_id), None)
            if found is not None:
                self._write(entries)
            return found

    def entries(self) -> dict[tuple[str, str], CacheEntry]:
        with self._reading():
            return self._entries_of(self._load())

    @contextlib.contextmanager
    def login_lock(self, timeout: float, on_wait: Callable[[], None]) -> Iterator[None]:
        """Held for a whole login, so that only one process asks the person at a time.

        ``on_wait`` is called once if another process holds it; the wait ends after ``timeout``.
        The operating system releases the lock of a process that dies.
        """
        import filelock  # noqa: PLC0415 - kept off pytest's start-up path

        self._make_dir()
        lock = filelock.FileLock(str(self.login_lock_path), mode=_PRIVATE_FILE)
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            on_wait()
            try:
                lock.acquire(timeout=timeout)
            except filelock.Timeout:
                raise CacheLockTimeout(
                    f"Another process has been logging in to LiveChat for {timeout:.0f} s "
                    f"(it holds {self.login_lock_path}). Finish or stop that login, then run again."
                ) from None
        try:
            yield
        finally:
            lock.release()

    # -- internals -----------------------------------------------------------------------------

    def _make_dir(self) -> None:
        self.path.parent.mkdir(mode=_PRIVATE_DIR, parents=True, exist_ok=True)

    def _reading(self) -> contextlib.AbstractContextManager[None]:
        """A read alone needs no lock on POSIX: every write replaces the file whole, by rename,
        so a reader sees the old file or the new one, never a part. (It also keeps filelock
        off the path of a warm-cache run.) Windows cannot rename over an open file: lock there.
        """
        return self._locked() if os.name == "nt" else contextlib.nullcontext()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        import filelock  # noqa: PLC0415 - kept off pytest's start-up path

        self._make_dir()
        lock = filelock.FileLock(str(self.lock_path), mode=_PRIVATE_FILE)
        try:
            lock.acquire(timeout=self.lock_timeout)
        except filelock.Timeout:
            raise CacheLockTimeout(
                f"The LiveChat token cache stayed locked for {self.lock_timeout:.0f} s "
                f"({self.lock_path}). If no other pytest or livechat-token is running, "
                "check that nothing else holds that file."
            ) from None
        try:
            yield
        finally:
            lock.release()

    def _load(self) -> dict[str, Any]:
        """The cache document; a missing, damaged or unreadable file counts as empty."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return _empty()
        except OSError as error:
            self._warn(f"cannot read {self.path} ({error.strerror}); using no cached token.")
            return _empty()
        self._make_private()
        try:
            document = json.loads(data)
            if not isinstance(document, dict) or document.get("version") != FORMAT_VERSION:
                raise ValueError(f"not a version {FORMAT_VERSION} token cache")
            entries = document.get("entries")
            if not isinstance(entries, dict) or not all(
                isinstance(v, dict) for v in entries.values()
            ):
                raise ValueError("no entries object")
        except json.JSONDecodeError:
            reason = "not valid JSON"
        except ValueError as error:  # also UnicodeDecodeError
            reason = str(error)
        else:
            return document
        self._warn(
            f"the token cache {self.path} is damaged ({reason}); it counts as empty "
            "and the next login replaces it."
        )
        return _empty()

    def _entries_of(self, document: dict[str, Any]) -> dict[tuple[str, str], CacheEntry]:
        found: dict[tuple[str, str], CacheEntry] = {}
        damaged = 0
        for accounts_url, clients in document["entries"].items():
            for client_id, raw in clients.items():
                try:
                    found[(accounts_url, client_id)] = CacheEntry.from_json(raw)
                except (KeyError, TypeError, ValueError):
                    damaged += 1
        if damaged:
            self._warn(f"{damaged} damaged entry(ies) in {self.path} count as not cached.")
        return found

    def _make_private(self) -> None:
        with contextlib.suppress(OSError):
            if self.path.stat().st_mode & 0o077:
                os.chmod(self.path, _PRIVATE_FILE)

    def _write(self, entries: dict[tuple[str, str], CacheEntry]) -> None:
        """Replace the file atomically: a private temp file beside it, fsync, rename."""
        document = _empty()
        for (accounts_url, client_id), entry in sorted(entries.items()):
            document["entries"].setdefault(accounts_url, {})[client_id] = entry.to_json()
        self._remove_leftovers()
        descriptor, temp = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
                json.dump(document, stream, indent=2)
                stream.write("\n")
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        _fsync_dir(self.path.parent)

    def _remove_leftovers(self) -> None:
        """Temp files of a writer that was killed mid-write (we hold the lock: none is live)."""
        for leftover in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            with contextlib.suppress(OSError):
                leftover.unlink()


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _warn(message: str) -> None:
    warn(CacheWarning(message), stacklevel=5)
