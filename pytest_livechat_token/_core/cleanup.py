"""The chats a run starts, deactivated again: what leaves a shared license as the tests found
it. The plugin's clients and sessions tell ``Cleanup`` of every chat they start, resume or
deactivate (``watcher``); a started chat is written to the journal (``_store.journal``) before
its answer reaches the test, and deactivated (Deactivate Chat, with the identity that started
it) when the test ends, or the session (``finish``). What a killed run left in the journal is
deactivated by the next run (``sweep``). A chat that cannot be deactivated is a
``CleanupWarning`` naming it, never a test's failure; it stays in the journal."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from .._auth.webapi import Caller, WebApiRefused, deactivate_chat
from .._base.errors import (
    AccountsUnreachable,
    CacheWarning,
    CleanupWarning,
    LiveChatTokenError,
    printable,
    reason,
)
from .._store.journal import ChatJournal, Kind, Started, journal_path

if TYPE_CHECKING:
    from .._api.transport import OnChat
    from .._base.bearer import BearerToken, BotToken, CustomerToken
    from .._base.pat import PersonalAccessToken
    from .run import Run

    Credential = BearerToken | CustomerToken | BotToken | PersonalAccessToken

GONE = ("chat_inactive", "not_found")
"""Deactivate Chat's refusals that mean there is nothing left to deactivate."""


class Chat(NamedTuple):
    """A chat this process started: its id, who started it, and how to deactivate it."""

    chat_id: str
    kind: Kind
    name: str
    caller: Caller
    organization_id: str | None
    """A customer's organization (the Customer Chat API asks for it), else None."""


class Swept(NamedTuple):
    """What a sweep found: chats deactivated, and chats left in the journal (no cached
    credential for them, another API URL, or LiveChat could not be told)."""

    deactivated: int
    left: int


class Cleanup:
    """The chats of this process that are still active, by the test that started them
    (``current()`` when each started: None outside any test and while a fixture of a wider
    scope than a test's is set up, so that its chats last as long as it does)."""

    def __init__(self, run: Run, current: Callable[[], str | None] = lambda: None) -> None:
        self.run = run
        self.current = current
        self._pending: dict[str | None, dict[str, Chat]] = {}
        self._lock = threading.Lock()  # async clients tell from worker threads
        cache = run.cache
        usable = cache.off is None and run.settings.cache_problem is None
        self.journal = ChatJournal(journal_path(cache.path), _say_once) if usable else None

    def watcher_of(self, credential: Credential) -> OnChat:
        """``watcher`` for the identity of ``credential``."""
        return self.watcher(*identity_of(credential), credential)

    def watcher(self, kind: Kind, name: str, credential: Credential) -> OnChat:
        """What a client or session of ``credential`` (the identity ``kind`` the tests call
        ``name``) calls with each chat action it saw succeed."""

        def seen(action: str, chat_id: str) -> None:
            if action == "deactivate_chat":
                self.ended(chat_id)
            else:
                self.started(_chat(chat_id, kind, name, credential))

        return seen

    def started(self, chat: Chat) -> None:
        """Remember ``chat`` for the current test, and write it to the journal first."""
        if self.journal is not None:
            entry = Started(
                chat.chat_id,
                self.run.settings.api_url,
                chat.kind,
                chat.name,
                self.journal.owner,
                self.run.now(),
            )
            try:
                self.journal.add(entry)
            except (OSError, LiveChatTokenError) as error:
                _journal_failed(
                    self.journal,
                    "write",
                    error,
                    f": the chat {chat.chat_id} is deactivated when the test ends, but a run "
                    "killed before would leave it active.",
                )
        with self._lock:
            self._pending.setdefault(self.current(), {})[chat.chat_id] = chat

    def ended(self, chat_id: str) -> None:
        """The test deactivated ``chat_id`` itself: nothing left to do for it."""
        with self._lock:
            for chats in self._pending.values():
                chats.pop(chat_id, None)
        self._forget({chat_id})

    def finish(self, test: str | None, *, everything: bool = False) -> None:
        """Deactivate the chats ``test`` started (``everything``: every chat still active)."""
        with self._lock:
            if everything:
                chats = [chat for pending in self._pending.values() for chat in pending.values()]
                self._pending.clear()
            else:
                chats = list(self._pending.pop(test, {}).values())
        done = {chat.chat_id for chat in chats if self._deactivate(chat)}
        self._forget(done)

    def sweep(self, *, dry_run: bool = False) -> Swept:
        """Deactivate the chats a dead process left in the journal (``dry_run``: count them),
        with the cached credentials of the identities that started them; never a login."""
        if self.journal is None:
            return Swept(0, 0)
        orphans = self.journal.orphans()
        api_url = self.run.settings.api_url
        usable = [
            (entry, credential)
            for entry in orphans
            if entry.api_url == api_url
            and (credential := self._credential(entry.kind, entry.name)) is not None
        ]
        if dry_run:
            return Swept(len(usable), len(orphans) - len(usable))
        done = {
            entry.chat_id
            for entry, credential in usable
            if self._deactivate(_chat(entry.chat_id, entry.kind, entry.name, credential))
        }
        self._forget(done)
        for owner in {entry.owner for entry in orphans}:
            self.journal.forget_owner(owner)
        return Swept(len(done), len(orphans) - len(done))

    def close(self) -> None:
        if self.journal is not None:
            self.journal.close()

    def _credential(self, kind: Kind, name: str) -> Credential | None:
        """The cached credential of an identity, without asking anybody; None when there is
        none (or it cannot be had)."""
        from .bots import BotSource
        from .customers import CustomerSource
        from .obtain import source_of

        run = self.run
        try:
            if kind == "agent":
                return source_of(run, name).cached()
            if kind == "customer":
                return CustomerSource(run).cached(name)
            if kind == "bot":
                return BotSource(run).cached(name)
            from .._base.pat import from_environ

            return from_environ(run.environ)
        except LiveChatTokenError:
            return None

    def _deactivate(self, chat: Chat) -> bool:
        """Deactivate ``chat``; whether it is inactive now (a warning names it when not)."""
        try:
            deactivate_chat(
                self.run.settings.api_url, chat.caller, chat.chat_id, chat.organization_id
            )
        except WebApiRefused as refused:
            if refused.type in GONE:
                return True
            problem = str(refused)
        except (AccountsUnreachable, LiveChatTokenError) as error:
            problem = str(error)
        else:
            return True
        where = (
            f"it stays in {printable(str(self.journal.path))} for the next run or "
            "livechat-token sweep"
            if self.journal is not None
            else "deactivate it in the LiveChat app"
        )
        _say(
            CleanupWarning(
                f"could not deactivate the LiveChat chat {chat.chat_id} that the tests started "
                f"({problem}); {where}."
            )
        )
        return False

    def _forget(self, chat_ids: set[str]) -> None:
        if not chat_ids or self.journal is None:
            return
        try:
            self.journal.remove(chat_ids)
        except (OSError, LiveChatTokenError) as error:
            _journal_failed(
                self.journal, "update", error, "; the next run will find those chats inactive."
            )


def identity_of(credential: Credential) -> tuple[Kind, str]:
    """Which identity a credential is: its kind and the tests' name for it."""
    from .._base.bearer import BearerToken, BotToken, CustomerToken

    if isinstance(credential, BearerToken):
        return "agent", credential.account
    if isinstance(credential, CustomerToken):
        return "customer", credential.name
    if isinstance(credential, BotToken):
        return "bot", credential.name
    return "pat", "pat"


def _chat(chat_id: str, kind: Kind, name: str, credential: Credential) -> Chat:
    organization = getattr(credential, "organization_id", None) if kind == "customer" else None
    return Chat(
        chat_id, kind, name, Caller(credential.authorization, credential.region), organization
    )


def _journal_failed(journal: ChatJournal, doing: str, error: Exception, then: str) -> None:
    """The one warning of a journal that could not be written (``doing``), and what follows."""
    shown = printable(str(journal.path))
    _say(CacheWarning(f"could not {doing} the chat journal {shown} ({reason(error)}){then}"))


def _say(warning: Warning) -> None:
    """Issue ``warning`` as a warning even under ``-W error``: a cleanup never fails a test."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", type(warning))
        warnings.warn(warning, stacklevel=3)


def _say_once(message: str) -> None:
    _say(CacheWarning(message))
