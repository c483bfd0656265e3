"""The chat journal: the chats the plugin's clients started and have not deactivated yet, in
``chats.json`` beside the token cache (a ``PrivateFile``, changed by one read-modify-write
under its own write lock, ``chats.json.lock``), so that a run killed before its cleanup leaves
a list the next run can finish.

Each entry names its owner: a process of this host that holds ``chats.json.owner-ID.lock`` for
as long as it lives (the operating system releases it when the process dies, SIGKILL and power
cut included). An entry whose owner's lock can be taken is an orphan (``orphans``); a live
owner's entries are its own business.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, NamedTuple

from .._base.bearer import is_short_id
from .._base.errors import CacheUnusable, reason
from .._base.settings import is_account_name
from .locks import Locks, _acquire, _file_lock
from .private_file import MAX_SIZE, PrivateFile

Kind = Literal["agent", "customer", "bot", "pat"]
KINDS: tuple[Kind, ...] = ("agent", "customer", "bot", "pat")
JOURNAL_VERSION = 1


class Started(NamedTuple):
    """A chat the plugin saw start: its id, the API it was started at, who started it (the
    kind of identity and the tests' name for it: its deactivation uses the same), the owner
    process, and when."""

    chat_id: str
    api_url: str
    kind: Kind
    name: str
    owner: str
    started_at: datetime

    def to_json(self) -> dict[str, str]:
        return {
            "chat_id": self.chat_id,
            "api_url": self.api_url,
            "kind": self.kind,
            "name": self.name,
            "owner": self.owner,
            "started_at": self.started_at.isoformat(),
        }

    @classmethod
    def from_json(cls, raw: object) -> Started:
        """Raises ValueError, TypeError or KeyError for anything but a well-formed entry."""
        if not isinstance(raw, dict):
            raise TypeError("entry is not an object")
        chat_id, api_url, kind, name, owner = (
            raw["chat_id"],
            raw["api_url"],
            raw["kind"],
            raw["name"],
            raw["owner"],
        )
        if not is_short_id(chat_id) or not is_short_id(owner) or not owner.isalnum():
            raise TypeError("chat_id and owner must be short printable strings")
        if not isinstance(api_url, str) or not api_url.startswith(("https://", "http://")):
            raise TypeError("api_url must be an http(s) URL")
        if kind not in KINDS or not isinstance(name, str) or not is_account_name(name):
            raise TypeError("kind and name must name an identity")
        started_at = datetime.fromisoformat(raw["started_at"])
        if started_at.tzinfo is None:
            raise ValueError("a time must carry its UTC offset")
        return cls(chat_id, api_url, kind, name, owner, started_at)


class ChatJournal:
    """The journal at ``path`` (``chats.json`` beside the token cache); ``owner`` is this
    process's id in it, its lock taken at the first entry this process writes."""

    def __init__(self, path: Path, warn_once: Callable[[str], None]) -> None:
        self.path = path
        self._file = PrivateFile(path)
        self.locks = Locks(path, warn_once)
        self.owner = secrets.token_hex(8)
        self._owner_lock: Any = None

    def add(self, started: Started) -> None:
        """Write ``started`` down (this process owns it). Raises ``OSError`` or
        ``CacheUnusable`` when the journal cannot be written."""
        self._own()
        self._update(lambda entries: [*entries, started])

    def remove(self, chat_ids: set[str]) -> None:
        """Take the chats ``chat_ids`` out (they are deactivated); no write when none is in."""
        self._update(lambda entries: [entry for entry in entries if entry.chat_id not in chat_ids])

    def entries(self) -> list[Started]:
        """Every entry, damaged ones left out."""
        return _parsed(self._document())

    def orphans(self) -> list[Started]:
        """The entries whose owner is dead (its lock can be taken), oldest first."""
        entries = self.entries()
        owners = {entry.owner for entry in entries} - {self.owner}
        dead = {owner for owner in owners if self._dead(owner)}
        return sorted(
            (entry for entry in entries if entry.owner in dead),
            key=lambda entry: entry.started_at,
        )

    def forget_owner(self, owner: str) -> None:
        """Remove a dead owner's lock file, once none of its entries is left."""
        if owner == self.owner or any(entry.owner == owner for entry in self.entries()):
            return
        with contextlib.suppress(OSError):
            self._owner_path(owner).unlink()

    def close(self) -> None:
        """Let this process's owner lock go (its entries, if any are left, become orphans)."""
        if self._owner_lock is not None:
            self._owner_lock.release()
            self._owner_lock = None
            if not any(entry.owner == self.owner for entry in self._safe_entries()):
                with contextlib.suppress(OSError):
                    self._owner_path(self.owner).unlink()

    def _safe_entries(self) -> list[Started]:
        try:
            return self.entries()
        except (OSError, CacheUnusable):
            return []

    def _own(self) -> None:
        if self._owner_lock is None:
            self._file.make_dir()
            lock = _file_lock(self._owner_path(self.owner))
            if not _acquire(lock, 0):  # pragma: no cover - a random id nobody else holds
                raise CacheUnusable("the journal's owner lock is taken")
            self._owner_lock = lock

    def _dead(self, owner: str) -> bool:
        path = self._owner_path(owner)
        if not path.exists():
            return True
        lock = _file_lock(path)
        if not _acquire(lock, 0):
            return False
        lock.release()
        return True

    def _owner_path(self, owner: str) -> Path:
        return self.path.with_name(f"{self.path.name}.owner-{owner}.lock")

    def _update(self, change: Callable[[list[Started]], list[Started]]) -> None:
        with self.locks.writing():
            before = _parsed(self._document())
            after = change(before)
            if after == before:
                return
            document = {
                "version": JOURNAL_VERSION,
                "chats": [entry.to_json() for entry in after],
            }
            self._file.replace(json.dumps(document, indent=2).encode() + b"\n")

    def _document(self) -> dict[str, Any]:
        """The journal; a missing or damaged one counts as empty (a damaged one is replaced
        by the next write). ``CacheUnusable`` when the file or its directory is not ours."""
        if (problem := self._file.problem()) is not None:
            raise CacheUnusable(problem)
        try:
            data = self._file.read()
        except FileNotFoundError:
            return {"chats": []}
        except OSError as error:
            raise CacheUnusable(reason(error)) from None
        try:
            if len(data) > MAX_SIZE:
                raise ValueError("too large")
            document = json.loads(data)
        except (ValueError, RecursionError):
            return {"chats": []}
        if not isinstance(document, dict) or document.get("version") != JOURNAL_VERSION:
            return {"chats": []}
        return document


def _parsed(document: dict[str, Any]) -> list[Started]:
    chats = document.get("chats")
    found = []
    for raw in chats if isinstance(chats, list) else []:
        try:
            found.append(Started.from_json(raw))
        except (KeyError, TypeError, ValueError):
            continue
    return found


def journal_path(token_cache: Path) -> Path:
    """Where the journal of the cache at ``token_cache`` lives: beside it."""
    return token_cache.with_name("chats.json")
