"""The on-disk token cache: one private JSON file, file-locked, written atomically.

Every read-modify-write holds the lock; a plain read takes none on POSIX (see
``TokenCache._reading``). Nothing in the file or its directory is trusted unless it is ours:
``TokenCache.problem`` says why a cache is not used, and ``_read_bytes`` opens the file without
following links or blocking, and checks what it opened.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from .bearer import BearerToken, CustomerToken, is_short_id, is_token_shaped
from .errors import CacheLockTimeout, CacheWarning, LiveChatTokenError, printable, warn
from .settings import DEFAULT_ACCOUNT, is_account_name

FORMAT_VERSION = 2
"""Version 2 keys entries by accounts URL, client id and account name; version 1 (no account
name) is read as the ``default`` account and rewritten as version 2 by the next write."""
Key = tuple[str, str, str]
_Entry = TypeVar("_Entry")
"""(accounts URL, client id, account name)."""
LOCK_TIMEOUT = 10.0
MAX_SIZE = 1024 * 1024
_PRIVATE_FILE = 0o600
_PRIVATE_DIR = 0o700


class CacheUnusable(LiveChatTokenError):
    """The cache is not ours (owner, mode, kind of file): nothing is read from it or written."""


@dataclass(frozen=True)
class CacheEntry:
    """One cached token, for one accounts server, client id and account name; ``account_id``
    and ``organization_id`` are what the accounts server said of its user."""

    access_token: str = field(repr=False)
    expires_at: datetime
    obtained_at: datetime
    token_type: str = "Bearer"
    scope: str | None = None
    refresh_token: str | None = field(default=None, repr=False)
    account_id: str | None = None
    organization_id: str | None = None

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
        for key in ("account_id", "organization_id"):
            if (value := getattr(self, key)) is not None:
                document[key] = value
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
        if not isinstance(token, str) or not is_token_shaped(token):
            raise TypeError("access_token must be a token")
        if not isinstance(token_type, str):
            raise TypeError("token_type must be a string")
        if scope is not None and not isinstance(scope, str):
            raise TypeError("scope must be a string")
        refresh = raw.get("refresh_token")
        if refresh is not None and (not isinstance(refresh, str) or not is_token_shaped(refresh)):
            raise TypeError("refresh_token must be a token")
        ids = [raw.get("account_id"), raw.get("organization_id")]
        if not all(value is None or is_short_id(value) for value in ids):
            raise TypeError("account_id and organization_id must be short printable strings")
        expires_at, obtained_at = _aware(raw["expires_at"]), _aware(raw["obtained_at"])
        return cls(token, expires_at, obtained_at, token_type, scope, refresh, *ids)

    def bearer(self, account: str = DEFAULT_ACCOUNT) -> BearerToken:
        return BearerToken(
            self.access_token,
            expires_at=self.expires_at,
            scope=self.scope,
            account=account,
            account_id=self.account_id,
            organization_id=self.organization_id,
        )


class CustomerEntry(NamedTuple):
    """One cached customer identity: its ``entity_id`` (kept, so that later runs are the same
    customer) and its latest access token. (A ``NamedTuple``: made at every run's header,
    a tenth of a frozen dataclass's cost; its repr hides the token as ``CacheEntry``'s does.)"""

    access_token: str
    entity_id: str
    expires_at: datetime
    obtained_at: datetime
    organization_id: str | None = None

    def __repr__(self) -> str:
        return (
            f"CustomerEntry(entity_id={self.entity_id!r}, "
            f"expires_at={self.expires_at.isoformat()!r})"
        )

    def to_json(self) -> dict[str, Any]:
        document = {
            "access_token": self.access_token,
            "entity_id": self.entity_id,
            "expires_at": self.expires_at.isoformat(),
            "obtained_at": self.obtained_at.isoformat(),
        }
        if self.organization_id is not None:
            document["organization_id"] = self.organization_id
        return document

    @classmethod
    def from_json(cls, raw: object) -> CustomerEntry:
        """Raises ValueError, TypeError or KeyError for anything but a well-formed entry."""
        if not isinstance(raw, dict):
            raise TypeError("entry is not an object")
        token, entity_id, organization_id = (
            raw["access_token"],
            raw["entity_id"],
            raw.get("organization_id"),
        )
        if not isinstance(token, str) or not is_token_shaped(token):
            raise TypeError("access_token must be a token")
        if not is_short_id(entity_id) or not (
            organization_id is None or is_short_id(organization_id)
        ):
            raise TypeError("entity_id and organization_id must be short printable strings")
        expires_at, obtained_at = _aware(raw["expires_at"]), _aware(raw["obtained_at"])
        return cls(token, entity_id, expires_at, obtained_at, organization_id)

    def token(self, name: str) -> CustomerToken:
        return CustomerToken(
            self.access_token,
            entity_id=self.entity_id,
            organization_id=self.organization_id,
            expires_at=self.expires_at,
            name=name,
        )


def _aware(raw: object) -> datetime:
    if not isinstance(raw, str):
        raise TypeError("a time must be an ISO 8601 string")
    moment = datetime.fromisoformat(raw)
    if moment.tzinfo is None:
        raise ValueError("a time must carry its UTC offset")
    return moment


def _document(data: bytes) -> dict[str, Any] | int:
    """The cache document in ``data``, as version 2; for a newer format, its version number.

    Raises ValueError (JSONDecodeError, UnicodeDecodeError) or RecursionError when damaged.
    """
    if len(data) > MAX_SIZE:
        raise ValueError(f"larger than {MAX_SIZE // 1024} KiB")
    document = json.loads(data)
    version = document.get("version") if isinstance(document, dict) else None
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        return version
    if version not in (1, FORMAT_VERSION):
        raise ValueError("not a pytest-livechat-token cache")
    entries = document.get("entries")
    if not isinstance(entries, dict) or not all(isinstance(v, dict) for v in entries.values()):
        raise ValueError("no entries object")
    if version == 1:  # one entry per client: the default account's
        entries = {
            url: {client: {DEFAULT_ACCOUNT: raw} for client, raw in clients.items()}
            for url, clients in entries.items()
        }
    customers = document.get("customers", {})
    if not isinstance(customers, dict) or not all(isinstance(v, dict) for v in customers.values()):
        raise ValueError("no customers object")
    return {"version": FORMAT_VERSION, "entries": entries, "customers": customers}


def _empty() -> dict[str, Any]:
    return {"version": FORMAT_VERSION, "entries": {}, "customers": {}}


class TokenCache:
    """Tokens by (accounts URL, client id, account name) in one file, beside its two locks."""

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
        self._warn_once = _Once(self._warn)  # for what is wrong with the place, said once

    # -- public operations ---------------------------------------------------------------------

    def get(
        self, accounts_url: str, client_id: str, account: str = DEFAULT_ACCOUNT
    ) -> CacheEntry | None:
        with self._reading():
            return self._entries_of(self._load()).get((accounts_url, client_id, account))

    def put(
        self, accounts_url: str, client_id: str, entry: CacheEntry, account: str = DEFAULT_ACCOUNT
    ) -> None:
        """Store ``entry``; the other good entries stay (a version 1 file's become the
        ``default`` account's), damaged ones are dropped.

        Raises ``OSError``, ``CacheUnusable`` (also for a file of a newer format, which is
        left untouched) or ``CacheLockTimeout`` when it cannot.
        """
        with self._locked():
            document = self._load(for_writing=True)
            entries = self._entries_of(document)
            entries[(accounts_url, client_id, account)] = entry
            self._write(entries, self._customers_of(document))

    def remove(
        self, accounts_url: str, client_id: str, account: str = DEFAULT_ACCOUNT
    ) -> CacheEntry | None:
        with self._locked():
            document = self._load(for_writing=True)
            entries = self._entries_of(document)
            found = entries.pop((accounts_url, client_id, account), None)
            if found is not None:
                self._write(entries, self._customers_of(document))
            return found

    def entries(self) -> dict[Key, CacheEntry]:
        with self._reading():
            return self._entries_of(self._load())

    def customers(self) -> dict[Key, CustomerEntry]:
        """Every cached customer, by (accounts URL, client id, customer name)."""
        with self._reading():
            return self._customers_of(self._load())

    def get_customer(self, accounts_url: str, client_id: str, name: str) -> CustomerEntry | None:
        return self.customers().get((accounts_url, client_id, name))

    def put_customer(
        self, accounts_url: str, client_id: str, name: str, entry: CustomerEntry
    ) -> None:
        """Store a customer; everything else in the file stays (as ``put``)."""
        with self._locked():
            document = self._load(for_writing=True)
            customers = self._customers_of(document)
            customers[(accounts_url, client_id, name)] = entry
            self._write(self._entries_of(document), customers)

    def customer_lock(
        self, name: str, timeout: float, on_wait: Callable[[], None]
    ) -> contextlib.AbstractContextManager[bool]:
        """Held while a token of the customer ``name`` is fetched: one fetch for all processes."""
        return self._process_lock(
            self.path.with_name(f"{self.path.name}.customer-{name}.lock"),
            timeout,
            on_wait,
            f"Another process has been fetching a LiveChat customer token for {timeout:.0f} s",
        )

    def problem(self) -> str | None:
        """Why the cache directory is not ours to use, or None when it is.

        Like OpenSSH's StrictModes: the directory must be owned by us (or root) and writable
        by nobody else. A directory that does not exist yet is fine: we create it 0700.
        """
        directory = self.path.parent
        try:
            info = directory.stat()
        except FileNotFoundError:
            return None
        except OSError as error:
            return f"its directory {directory} cannot be read ({error.strerror})"
        if not stat.S_ISDIR(info.st_mode):
            return f"{directory} is not a directory"
        if os.name == "posix" and info.st_uid not in (os.geteuid(), 0):
            return f"its directory {directory} is owned by another user (uid {info.st_uid})"
        if os.name == "posix" and info.st_mode & 0o022:
            return (
                f"its directory {directory} is writable by others "
                f"(mode {stat.S_IMODE(info.st_mode):o}): use a private one"
            )
        return None

    def login_lock_of(self, account: str = DEFAULT_ACCOUNT) -> Path:
        """The lock held while a token of ``account`` is obtained (renewed or logged in)."""
        if account == DEFAULT_ACCOUNT:
            return self.login_lock_path
        return self.path.with_name(f"{self.path.name}.login-{account}.lock")

    def login_lock(
        self, timeout: float, on_wait: Callable[[], None], account: str = DEFAULT_ACCOUNT
    ) -> contextlib.AbstractContextManager[bool]:
        """Held while a token of ``account`` is obtained, so that one process renews it or asks
        the person for it, and the others wait for its result.

        Yields whether another process held it first (``on_wait`` was then called once); the
        wait ends after ``timeout``. The operating system releases the lock of a process that
        dies. Where the lock cannot be made (a cache that is not ours, a read-only directory),
        it says so once and the login goes on without it.
        """
        return self._process_lock(
            self.login_lock_of(account),
            timeout,
            on_wait,
            f"Another process has been logging in to LiveChat for {timeout:.0f} s",
        )

    def terminal_lock(
        self, timeout: float, on_wait: Callable[[], None]
    ) -> contextlib.AbstractContextManager[bool]:
        """Held while the person is asked, whatever the account: logins of several accounts
        come one after the other. Always taken inside an account's ``login_lock``."""
        return self._process_lock(
            self.path.with_name(self.path.name + ".terminal.lock"),
            timeout,
            on_wait,
            f"Another process has been asking for a LiveChat login for {timeout:.0f} s",
        )

    @contextlib.contextmanager
    def _process_lock(
        self, path: Path, timeout: float, on_wait: Callable[[], None], too_long: str
    ) -> Iterator[bool]:
        import filelock  # noqa: PLC0415 - kept off pytest's start-up path

        lock = filelock.FileLock(str(path), mode=_PRIVATE_FILE)
        try:
            self._check()
            self._make_dir()
            acquired: bool | None = _acquire(lock, 0)
        except (OSError, CacheUnusable) as error:
            self._warn_once(
                f"cannot take the login lock {printable(str(path))} "
                f"({_reason(error)}); logging in without it."
            )
            acquired = None
        if acquired is None:
            yield False
            return
        if not acquired:
            on_wait()
            if not _acquire(lock, timeout):
                raise CacheLockTimeout(
                    f"{too_long} (it holds {printable(str(path))}). Finish or stop that "
                    "login, then run again."
                )
        try:
            yield not acquired
        finally:
            lock.release()

    # -- internals -----------------------------------------------------------------------------

    def _check(self) -> None:
        if (problem := self.problem()) is not None:
            raise CacheUnusable(problem)

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

        self._check()
        self._make_dir()
        lock = filelock.FileLock(str(self.lock_path), mode=_PRIVATE_FILE)
        if not _acquire(lock, self.lock_timeout):
            raise CacheLockTimeout(
                f"The LiveChat token cache stayed locked for {self.lock_timeout:.0f} s "
                f"({printable(str(self.lock_path))}). If no other pytest or livechat-token is "
                "running, check that nothing else holds that file."
            )
        try:
            yield
        finally:
            lock.release()

    def _load(self, *, for_writing: bool = False) -> dict[str, Any]:
        """The cache document, as version 2; a missing, foreign, damaged or unreadable file
        counts as empty. A file of a newer format counts as empty too, and is never
        overwritten: ``for_writing`` raises ``CacheUnusable`` for it."""
        shown = printable(str(self.path))
        if (problem := self.problem()) is not None:
            self._warn_once(f"the token cache {shown} is not used: {problem}.")
            return _empty()
        try:
            data = self._read_bytes()
        except FileNotFoundError:
            return _empty()
        except (OSError, CacheUnusable) as error:
            self._warn_once(f"the token cache {shown} is not used: {_reason(error)}.")
            return _empty()
        try:
            document = _document(data)
        except json.JSONDecodeError:
            reason = "not valid JSON"
        except RecursionError:
            reason = "nested too deeply"
        except ValueError as error:  # also UnicodeDecodeError
            reason = printable(str(error), 80)
        else:
            if isinstance(document, dict):
                return document
            newer = (
                f"it was written by a newer pytest-livechat-token (cache format version "
                f"{document}), so it is left untouched"
            )
            if for_writing:
                raise CacheUnusable(newer)
            self._warn_once(f"the token cache {shown} is not used: {newer}.")
            return _empty()
        self._warn(
            f"the token cache {shown} is damaged ({reason}); it counts as empty "
            "and the next login replaces it."
        )
        return _empty()

    def _read_bytes(self) -> bytes:
        """The file's bytes, at most ``MAX_SIZE`` + 1 of them: opened without following a
        link or waiting for a writer (a FIFO), and only when it is a regular file of ours;
        a file that others can read is made private again."""
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            descriptor = os.open(self.path, flags | getattr(os, "O_CLOEXEC", 0))
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise CacheUnusable("it is a symbolic link") from None
            raise
        try:
            info = os.fstat(descriptor)
            if not stat.S_ISREG(info.st_mode):
                raise CacheUnusable("it is not a regular file")
            if os.name == "posix":
                if info.st_uid != os.geteuid():
                    raise CacheUnusable(f"it is owned by another user (uid {info.st_uid})")
                if info.st_mode & 0o022:
                    raise CacheUnusable(
                        f"it is writable by others (mode {stat.S_IMODE(info.st_mode):o})"
                    )
                if info.st_mode & 0o077:
                    with contextlib.suppress(OSError):
                        os.fchmod(descriptor, _PRIVATE_FILE)
            data = bytearray()
            while len(data) <= MAX_SIZE and (chunk := os.read(descriptor, 65536)):
                data += chunk
            return bytes(data)
        finally:
            os.close(descriptor)

    def _entries_of(self, document: dict[str, Any]) -> dict[Key, CacheEntry]:
        return self._parsed(document["entries"], CacheEntry.from_json)

    def _customers_of(self, document: dict[str, Any]) -> dict[Key, CustomerEntry]:
        return self._parsed(document["customers"], CustomerEntry.from_json)

    def _parsed(
        self, section: dict[str, Any], parse: Callable[[object], _Entry]
    ) -> dict[Key, _Entry]:
        """The good entries of a section (by URL, client id, name); the others are counted as
        damaged, with one warning."""
        found: dict[Key, _Entry] = {}
        damaged = 0
        for accounts_url, clients in section.items():
            for client_id, accounts in clients.items():
                if not isinstance(accounts, dict):
                    damaged += 1
                    continue
                for account, raw in accounts.items():
                    if not is_account_name(account):
                        damaged += 1
                        continue
                    try:
                        found[(accounts_url, client_id, account)] = parse(raw)
                    except (KeyError, TypeError, ValueError, OverflowError):
                        damaged += 1
        if damaged:
            self._warn(
                f"{damaged} damaged entry(ies) in {printable(str(self.path))} count as not cached."
            )
        return found

    def _write(self, entries: dict[Key, CacheEntry], customers: dict[Key, CustomerEntry]) -> None:
        """Replace the file atomically: a private temp file beside it, fsync, rename."""
        document = _empty()
        sections: list[tuple[str, dict[Key, Any]]] = [
            ("entries", entries),
            ("customers", customers),
        ]
        for section, found in sections:
            for (accounts_url, client_id, name), entry in sorted(found.items()):
                clients = document[section].setdefault(accounts_url, {})
                clients.setdefault(client_id, {})[name] = entry.to_json()
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


def _acquire(lock: Any, timeout: float) -> bool:
    """Take a ``filelock`` lock within ``timeout`` seconds; False when it stayed taken."""
    import filelock  # noqa: PLC0415

    try:
        lock.acquire(timeout=timeout)
    except filelock.Timeout:
        return False
    return True


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError):
        return error.strerror or type(error).__name__
    return str(error)


class _Once:
    """Says each message once per cache object: a run reads the cache many times."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self._say = say
        self._said: set[str] = set()

    def __call__(self, message: str) -> None:
        if message not in self._said:
            self._said.add(message)
            self._say(message)


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
    warn(CacheWarning(message), stacklevel=6)


__all__ = [
    "DEFAULT_ACCOUNT",
    "CacheEntry",
    "CacheUnusable",
    "CacheWarning",
    "CustomerEntry",
    "Key",
    "TokenCache",
]
