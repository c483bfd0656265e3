"""The token cache's format: one JSON document of token entries, customers and bots, in a
``PrivateFile``, changed only by one read-modify-write under the write lock (``locks``).

Format version 3 keys entries and customers by accounts URL, client id and name, and bots by
API URL, client id and name. Version 2 (no bots) and version 1 (no account name: the
``default`` account's) are read too, and rewritten as version 3 by the next write. A file of a
newer format is neither used nor overwritten: a bot's secret in it is never lost to an older
writer.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from .._base import redact
from .._base.bearer import BearerToken, BotToken, CustomerToken, is_short_id, is_token_shaped
from .._base.errors import (
    CacheUnusable,
    CacheWarning,
    ConfigError,
    NoCache,
    Once,
    printable,
    reason,
    warn,
)
from .._base.settings import DEFAULT_ACCOUNT, is_account_name
from .locks import LOCK_TIMEOUT, Locks, no_cache_place
from .private_file import MAX_SIZE, PrivateFile

FORMAT_VERSION = 3
Key = tuple[str, str, str]
"""(accounts URL, client id, account or customer name), or for a bot (API URL, client id,
bot name)."""
_Entry = TypeVar("_Entry")


class CacheEntry(NamedTuple):
    """One cached token, for one accounts server, client id and account name; ``account_id``
    and ``organization_id`` are what the accounts server said of its user. Its repr hides
    both tokens."""

    access_token: str
    expires_at: datetime
    obtained_at: datetime
    token_type: str = "Bearer"
    scope: str | None = None
    refresh_token: str | None = None
    account_id: str | None = None
    organization_id: str | None = None

    def __repr__(self) -> str:
        return (
            f"CacheEntry(expires_at={self.expires_at.isoformat()!r}, scope={self.scope!r}, "
            f"refresh_token={'yes' if self.refresh_token else 'no'}, "
            f"account_id={self.account_id!r})"
        )

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
        if self.account_id is not None:
            document["account_id"] = self.account_id
        if self.organization_id is not None:
            document["organization_id"] = self.organization_id
        return document

    @classmethod
    def from_json(cls, raw: object) -> CacheEntry:
        """Raises ValueError, TypeError or KeyError for anything but a well-formed entry."""
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
        account_id, organization_id = raw.get("account_id"), raw.get("organization_id")
        if not all(value is None or is_short_id(value) for value in (account_id, organization_id)):
            raise TypeError("account_id and organization_id must be short printable strings")
        expires_at, obtained_at = _aware(raw["expires_at"]), _aware(raw["obtained_at"])
        redact.remember(token, refresh)  # secrets from the moment they are read
        return cls(
            token, expires_at, obtained_at, token_type, scope, refresh, account_id, organization_id
        )

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
    customer) and its latest access token. Its repr hides the token, as ``CacheEntry``'s does.
    (Both are ``NamedTuple``s: made at every run's header, a tenth of a frozen dataclass's
    cost.)"""

    access_token: str
    entity_id: str
    expires_at: datetime
    obtained_at: datetime
    organization_id: str | None = None
    agent: str = DEFAULT_ACCOUNT
    """The account whose agent token made it: ``livechat-token logout`` of that account
    revokes it too."""

    def __repr__(self) -> str:
        return (
            f"CustomerEntry(entity_id={self.entity_id!r}, agent={self.agent!r}, "
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
        if self.agent != DEFAULT_ACCOUNT:
            document["agent"] = self.agent
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
        agent = raw.get("agent", DEFAULT_ACCOUNT)
        if not isinstance(agent, str) or not is_account_name(agent):
            raise TypeError("agent must be an account name")
        expires_at, obtained_at = _aware(raw["expires_at"]), _aware(raw["obtained_at"])
        redact.remember(token)  # a secret from the moment it is read
        return cls(token, entity_id, expires_at, obtained_at, organization_id, agent)

    def token(self, name: str) -> CustomerToken:
        return CustomerToken(
            self.access_token,
            entity_id=self.entity_id,
            organization_id=self.organization_id,
            expires_at=self.expires_at,
            name=name,
        )


class BotEntry(NamedTuple):
    """One cached bot: its id and secret at LiveChat (kept, so that later runs are the same
    bot), its organization, the account whose credential made it, and its latest token (None
    before the first). Its repr hides the secret and the token."""

    bot_id: str
    secret: str
    organization_id: str
    created_at: datetime
    agent: str = DEFAULT_ACCOUNT
    access_token: str | None = None
    expires_at: datetime | None = None
    obtained_at: datetime | None = None

    def __repr__(self) -> str:
        expires = self.expires_at.isoformat() if self.expires_at else None
        return f"BotEntry(bot_id={self.bot_id!r}, agent={self.agent!r}, expires_at={expires!r})"

    def to_json(self) -> dict[str, Any]:
        document = {
            "bot_id": self.bot_id,
            "secret": self.secret,
            "organization_id": self.organization_id,
            "created_at": self.created_at.isoformat(),
            "agent": self.agent,
        }
        if self.access_token is not None and self.expires_at and self.obtained_at:
            document |= {
                "access_token": self.access_token,
                "expires_at": self.expires_at.isoformat(),
                "obtained_at": self.obtained_at.isoformat(),
            }
        return document

    @classmethod
    def from_json(cls, raw: object) -> BotEntry:
        """Raises ValueError, TypeError or KeyError for anything but a well-formed entry."""
        if not isinstance(raw, dict):
            raise TypeError("entry is not an object")
        bot_id, secret, organization_id = raw["bot_id"], raw["secret"], raw["organization_id"]
        if not isinstance(secret, str) or not is_token_shaped(secret):
            raise TypeError("secret must be a secret")
        if not is_short_id(bot_id) or not is_short_id(organization_id):
            raise TypeError("bot_id and organization_id must be short printable strings")
        agent = raw["agent"]
        if not isinstance(agent, str) or not is_account_name(agent):
            raise TypeError("agent must be an account name")
        redact.remember(secret)  # a secret from the moment it is read
        token = raw.get("access_token")
        if token is None:
            return cls(bot_id, secret, organization_id, _aware(raw["created_at"]), agent)
        if not isinstance(token, str) or not is_token_shaped(token):
            raise TypeError("access_token must be a token")
        redact.remember(token)
        return cls(
            bot_id,
            secret,
            organization_id,
            _aware(raw["created_at"]),
            agent,
            token,
            _aware(raw["expires_at"]),
            _aware(raw["obtained_at"]),
        )

    def token(self, name: str) -> BotToken | None:
        """Its token, as the fixture gives it; None when it has none."""
        if self.access_token is None:
            return None
        return BotToken(
            self.access_token,
            bot_id=self.bot_id,
            organization_id=self.organization_id,
            expires_at=self.expires_at,
            name=name,
        )


class Sections:
    """The good entries of every section: what one read gives, and what a read-modify-write
    changes."""

    __slots__ = ("bots", "customers", "entries")

    def __init__(
        self,
        entries: dict[Key, CacheEntry],
        customers: dict[Key, CustomerEntry],
        bots: dict[Key, BotEntry],
    ) -> None:
        self.entries = entries
        self.customers = customers
        self.bots = bots

    def by_name(self) -> list[tuple[str, dict[Key, Any]]]:
        return [("entries", self.entries), ("customers", self.customers), ("bots", self.bots)]


_Result = TypeVar("_Result")
_ALWAYS = object()
"""``_update``'s default ``unless``: no result stops the write."""


def _aware(raw: object) -> datetime:
    if not isinstance(raw, str):
        raise TypeError("a time must be an ISO 8601 string")
    moment = datetime.fromisoformat(raw)
    if moment.tzinfo is None:
        raise ValueError("a time must carry its UTC offset")
    return moment


def _document(data: bytes) -> dict[str, Any] | int:
    """The cache document in ``data``, as version 3; for a newer format, its version number.

    Raises ValueError (JSONDecodeError, UnicodeDecodeError) or RecursionError when damaged.
    """
    if len(data) > MAX_SIZE:
        raise ValueError(f"larger than {MAX_SIZE // 1024} KiB")
    document = json.loads(data)
    version = document.get("version") if isinstance(document, dict) else None
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        return version
    if version not in (1, 2, FORMAT_VERSION):
        raise ValueError("not a pytest-livechat-token cache")
    entries = document.get("entries")
    if not isinstance(entries, dict) or not all(isinstance(v, dict) for v in entries.values()):
        raise ValueError("no entries object")
    if version == 1:  # one entry per client: the default account's
        entries = {
            url: {client: {DEFAULT_ACCOUNT: raw} for client, raw in clients.items()}
            for url, clients in entries.items()
        }
    sections = {"version": FORMAT_VERSION, "entries": entries}
    for section in ("customers", "bots"):
        found = document.get(section, {})
        if not isinstance(found, dict) or not all(isinstance(v, dict) for v in found.values()):
            raise ValueError(f"no {section} object")
        sections[section] = found
    return sections


def _empty() -> dict[str, Any]:
    return {"version": FORMAT_VERSION, "entries": {}, "customers": {}, "bots": {}}


class TokenCache:
    """Tokens by (accounts URL, client id, account name), customers by (accounts URL, client
    id, customer name) and bots by (API URL, client id, bot name), in one ``PrivateFile``;
    ``locks`` are the locks beside it."""

    def __init__(
        self, path: Path, *, lock_timeout: float = LOCK_TIMEOUT, unresolved: str | None = None
    ) -> None:
        self.path = path
        self._file = PrivateFile(path)
        self._warn_once = Once(_warn)  # for what is wrong with the place, said once
        self._unresolved = unresolved  # Settings.cache_problem: a ConfigError at any use
        kind = self._file.nothing_kept() if unresolved is None else None
        self.off = f"no token cache ({printable(str(path))} is {kind})" if kind else None
        """Why nothing is cached (``/dev/null``, another device, a pipe, a directory), or None.
        Nothing is then read or written there, and the locks are taken in a private directory
        of the system's temporary one instead of beside it: tokens are kept for the run."""
        beside = path if kind is None and unresolved is None else no_cache_place()
        self.locks = Locks(beside, self._warn_once, lock_timeout=lock_timeout)

    def get(
        self, accounts_url: str, client_id: str, account: str = DEFAULT_ACCOUNT
    ) -> CacheEntry | None:
        return self.entries().get((accounts_url, client_id, account))

    def entries(self) -> dict[Key, CacheEntry]:
        with self._reading():
            return self._entries_of(self._load())

    def customers(self) -> dict[Key, CustomerEntry]:
        """Every cached customer, by (accounts URL, client id, customer name)."""
        with self._reading():
            return self._customers_of(self._load())

    def get_customer(self, accounts_url: str, client_id: str, name: str) -> CustomerEntry | None:
        return self.customers().get((accounts_url, client_id, name))

    def sections(self) -> Sections:
        """Every section's good entries, from one read of the file (the report header's)."""
        with self._reading():
            return self._sections_of(self._load())

    def bots(self) -> dict[Key, BotEntry]:
        """Every cached bot, by (API URL, client id, bot name)."""
        with self._reading():
            return self._bots_of(self._load())

    def get_bot(self, api_url: str, client_id: str, name: str) -> BotEntry | None:
        return self.bots().get((api_url, client_id, name))

    def put_bot(self, api_url: str, client_id: str, name: str, entry: BotEntry) -> None:
        """Store a bot; everything else in the file stays (as ``put``)."""
        self._update(lambda sections: sections.bots.update({(api_url, client_id, name): entry}))

    def remove_bot(self, api_url: str, client_id: str, name: str) -> BotEntry | None:
        """Remove a bot and return it; None (and no write) when there was none."""
        key = (api_url, client_id, name)
        return self._update(lambda sections: sections.bots.pop(key, None), unless=None)

    def put(
        self, accounts_url: str, client_id: str, entry: CacheEntry, account: str = DEFAULT_ACCOUNT
    ) -> None:
        """Store ``entry``; the other good entries stay (a version 1 file's become the
        ``default`` account's), damaged ones are dropped.

        Raises ``OSError``, ``CacheUnusable`` (also for a file of a newer format, which is
        left untouched) or ``CacheLockTimeout`` when it cannot.
        """
        self._update(
            lambda sections: sections.entries.update({(accounts_url, client_id, account): entry})
        )

    def put_customer(
        self, accounts_url: str, client_id: str, name: str, entry: CustomerEntry
    ) -> None:
        """Store a customer; everything else in the file stays (as ``put``)."""
        self._update(
            lambda sections: sections.customers.update({(accounts_url, client_id, name): entry})
        )

    def remove(
        self, accounts_url: str, client_id: str, account: str = DEFAULT_ACCOUNT
    ) -> CacheEntry | None:
        """Remove an account's entry and return it; None (and no write) when there was none."""
        key = (accounts_url, client_id, account)
        return self._update(lambda sections: sections.entries.pop(key, None), unless=None)

    def remove_customer(self, accounts_url: str, client_id: str, name: str) -> CustomerEntry | None:
        """Remove a customer and return it; None (and no write) when there was none."""
        key = (accounts_url, client_id, name)
        return self._update(lambda sections: sections.customers.pop(key, None), unless=None)

    def keeps(self) -> bool:
        """Whether what is stored here can be read back: not with no cache, nor a bad file."""
        try:
            self._load(for_writing=True)
        except CacheUnusable:
            return False
        return self.off is None

    def problem(self) -> str | None:
        """Why the cache directory is not ours to use, or None (``PrivateFile.problem``)."""
        return self._file.problem()

    def _update(
        self, change: Callable[[Sections], _Result], *, unless: object = _ALWAYS
    ) -> _Result:
        """The one read-modify-write: under the write lock, read both sections, let ``change``
        edit them in place, and write them back unless it returned ``unless``. Nothing is
        written where no file is kept (``NoCache``) or the file is not ours or cannot be read
        (``CacheUnusable``: a link, another owner, writable by others)."""
        if self.off is not None:
            raise NoCache(self.off)
        if self._unresolved is not None:
            raise ConfigError(self._unresolved)
        with self.locks.writing():
            document = self._load(for_writing=True)
            sections = self._sections_of(document)
            result = change(sections)
            if result is not unless:
                self._write(sections)
            return result

    def _reading(self) -> contextlib.AbstractContextManager[None]:
        """A read alone needs no lock on POSIX: every write replaces the file whole, by rename,
        so a reader sees the old file or the new one, never a part. (It also keeps filelock
        off the path of a warm-cache run.) Windows cannot rename over an open file: lock there.
        """
        locked = os.name == "nt" and self.off is None
        return self.locks.writing() if locked else contextlib.nullcontext()

    def _load(self, *, for_writing: bool = False) -> dict[str, Any]:
        """The cache document, as version 3; a missing, foreign, damaged or unreadable file
        counts as empty. ``for_writing`` raises ``CacheUnusable`` for a file that is not ours,
        cannot be read or is of a newer format: it is never overwritten."""
        shown = printable(str(self.path))
        try:
            data = self._raw()
            if data is None:
                return _empty()
            document = _document(data)
            if not isinstance(document, dict):
                raise CacheUnusable(
                    f"it was written by a newer pytest-livechat-token (cache format version "
                    f"{document}), so it is left untouched"
                )
            return document
        except CacheUnusable as unusable:
            if for_writing:  # never replaced: what it holds (other accounts') stays
                raise
            self._warn_once(f"the token cache {shown} is not used: {unusable}.")
            return _empty()
        except json.JSONDecodeError:
            damage = "not valid JSON"
        except RecursionError:
            damage = "nested too deeply"
        except ValueError as error:  # also UnicodeDecodeError
            damage = printable(str(error), 80)
        _warn(
            f"the token cache {shown} is damaged ({damage}); it counts as empty "
            "and the next login replaces it."
        )
        return _empty()

    def _raw(self) -> bytes | None:
        """The file's bytes; None where there is none (or no cache); ``CacheUnusable`` when it
        or its directory is not ours, or it cannot be read."""
        if self.off is not None:
            return None
        if self._unresolved is not None:
            raise ConfigError(self._unresolved)
        if (problem := self.problem()) is not None:
            raise CacheUnusable(problem)
        try:
            return self._file.read()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise CacheUnusable(reason(error)) from None

    def _entries_of(self, document: dict[str, Any]) -> dict[Key, CacheEntry]:
        return self._parsed(document["entries"], CacheEntry.from_json)

    def _customers_of(self, document: dict[str, Any]) -> dict[Key, CustomerEntry]:
        return self._parsed(document["customers"], CustomerEntry.from_json)

    def _sections_of(self, document: dict[str, Any]) -> Sections:
        return Sections(
            self._entries_of(document), self._customers_of(document), self._bots_of(document)
        )

    def _bots_of(self, document: dict[str, Any]) -> dict[Key, BotEntry]:
        return self._parsed(document["bots"], BotEntry.from_json)

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
            _warn(
                f"{damaged} damaged entry(ies) in {printable(str(self.path))} count as not cached."
            )
        return found

    def _write(self, sections: Sections) -> None:
        document = _empty()
        for section, found in sections.by_name():
            for (accounts_url, client_id, name), entry in sorted(found.items(), key=_by_key):
                clients = document[section].setdefault(accounts_url, {})
                clients.setdefault(client_id, {})[name] = entry.to_json()
        self._file.replace(json.dumps(document, indent=2).encode() + b"\n")


def _by_key(item: tuple[Key, object]) -> Key:
    return item[0]


def _warn(message: str) -> None:
    warn(CacheWarning(message), stacklevel=6)


__all__ = [
    "DEFAULT_ACCOUNT",
    "MAX_SIZE",
    "BotEntry",
    "CacheEntry",
    "CacheUnusable",
    "CacheWarning",
    "CustomerEntry",
    "Key",
    "TokenCache",
]
