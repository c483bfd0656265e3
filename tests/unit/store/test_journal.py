"""``_store.journal``: the chat journal on real files, and its owners' liveness by real locks
(a process that dies, SIGKILL included, lets its lock go)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pytest_livechat_token._base.errors import CacheUnusable
from pytest_livechat_token._store.journal import ChatJournal, Started, journal_path
from pytest_livechat_token._store.private_file import MAX_SIZE

API = "https://api.livechatinc.com/v3.6/"
WHEN = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)


def journal(path: Path) -> ChatJournal:
    """The journal beside the cache file ``path``."""
    return ChatJournal(journal_path(path), lambda message: None)


def chat(owner: ChatJournal, chat_id: str, kind: str = "agent") -> Started:
    return Started(chat_id, API, kind, "default", owner.owner, WHEN)  # type: ignore[arg-type]


def test_entries_round_trip_privately_and_leave_when_removed(path: Path) -> None:
    mine = journal(path)
    mine.add(chat(mine, "CH1"))
    mine.add(chat(mine, "CH2", "customer"))
    assert [entry.chat_id for entry in mine.entries()] == ["CH1", "CH2"]
    assert mine.path.name == "chats.json"
    assert mine.path.stat().st_mode & 0o777 == 0o600
    mine.remove({"CH1"})
    assert [entry.chat_id for entry in mine.entries()] == ["CH2"]
    assert mine.orphans() == [], "its own entries are never orphans"


def test_a_closed_owner_s_entries_are_orphans_and_a_live_one_s_are_not(path: Path) -> None:
    gone, alive, sweeper = journal(path), journal(path), journal(path)
    gone.add(chat(gone, "CH-GONE"))
    alive.add(chat(alive, "CH-ALIVE"))
    gone.close()  # its lock goes; its entry stays
    assert [entry.chat_id for entry in sweeper.orphans()] == ["CH-GONE"]
    sweeper.remove({"CH-GONE"})
    sweeper.forget_owner(gone.owner)
    assert not list(path.parent.glob(f"chats.json.owner-{gone.owner}.lock"))
    assert list(path.parent.glob(f"chats.json.owner-{alive.owner}.lock")), "a live one's stays"


def test_a_process_killed_with_sigkill_leaves_orphans(path: Path) -> None:
    code = (
        "import os, signal, sys\n"
        "from datetime import datetime, timezone\n"
        "from pathlib import Path\n"
        "from pytest_livechat_token._store.journal import ChatJournal, Started\n"
        "j = ChatJournal(Path(sys.argv[1]), print)\n"
        "j.add(Started('CH-KILLED', sys.argv[2], 'bot', 'greeter', j.owner,"
        " datetime.now(timezone.utc)))\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    target = journal_path(path)
    killed = subprocess.run([sys.executable, "-c", code, str(target), API], timeout=60, check=False)
    assert killed.returncode == -signal.SIGKILL
    (orphan,) = journal(path).orphans()
    assert (orphan.chat_id, orphan.kind, orphan.name) == ("CH-KILLED", "bot", "greeter")


def test_damaged_entries_and_a_damaged_file_count_as_nothing(path: Path) -> None:
    mine = journal(path)
    mine.add(chat(mine, "CH1"))
    document = json.loads(mine.path.read_text())
    document["chats"] += [{"chat_id": "x"}, "junk", {**document["chats"][0], "kind": "robot"}]
    mine.path.write_text(json.dumps(document))
    assert [entry.chat_id for entry in mine.entries()] == ["CH1"]
    mine.path.write_text("{not json")
    assert mine.entries() == []
    mine.add(chat(mine, "CH3"))  # a damaged journal is replaced by the next write
    assert [entry.chat_id for entry in mine.entries()] == ["CH3"]
    assert os.stat(mine.path).st_mode & 0o777 == 0o600


GOOD = {
    "chat_id": "CH1",
    "api_url": API,
    "kind": "agent",
    "name": "default",
    "owner": "abc123",
    "started_at": WHEN.isoformat(),
}


@pytest.mark.parametrize(
    "bad",
    [
        {"chat_id": ""},
        {"owner": "../x"},
        {"api_url": "file:///etc/passwd"},
        {"kind": "robot"},
        {"name": "Not A Name"},
        {"started_at": "2026-12-05T12:00:00"},  # no UTC offset
        {"started_at": "yesterday"},
    ],
)
def test_an_entry_is_checked_as_anything_from_outside(bad: dict[str, str]) -> None:
    assert Started.from_json(GOOD) == Started("CH1", API, "agent", "default", "abc123", WHEN)
    with pytest.raises((TypeError, ValueError)):
        Started.from_json({**GOOD, **bad})
    with pytest.raises(TypeError):
        Started.from_json(["not", "an", "object"])


def test_a_journal_in_a_directory_others_can_write_is_not_used(path: Path) -> None:
    path.parent.mkdir(mode=0o700)
    path.parent.chmod(0o777)
    mine = journal(path)
    with pytest.raises(CacheUnusable):
        mine.add(chat(mine, "CH1"))
    with pytest.raises(CacheUnusable):
        mine.entries()
    mine.close()  # nothing to let go of, nothing raised


def test_a_journal_of_another_version_or_too_large_counts_as_empty(path: Path) -> None:
    mine = journal(path)
    mine.add(chat(mine, "CH1"))
    mine.path.write_text(json.dumps({"version": 99, "chats": [chat(mine, "CH2").to_json()]}))
    assert mine.entries() == []
    mine.path.write_bytes(b" " * (MAX_SIZE + 1))
    assert mine.entries() == []
    mine.close()
    assert not list(path.parent.glob("chats.json.owner-*.lock")), "nothing of its own is left"
