"""The token cache on a real file system, with real locks held by real processes."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pytest_livechat_token._base.errors import CacheLockTimeout
from pytest_livechat_token._store.cache import CacheEntry, CacheUnusable, CacheWarning, TokenCache

from ...support.helpers import held_by_another_process

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)
URL = "https://accounts.livechat.com"


def entry(token: str = "dal:first-token-value", hours: int = 8) -> CacheEntry:
    return CacheEntry(token, NOW + timedelta(hours=hours), NOW, scope="chats--all:ro")


@pytest.fixture
def cache(tmp_path: Path) -> TokenCache:
    return TokenCache(tmp_path / "cache" / "tokens.json", lock_timeout=0.5)


def test_round_trip(cache: TokenCache) -> None:
    assert cache.get(URL, "c1") is None
    cache.put(URL, "c1", entry())
    assert cache.get(URL, "c1") == entry()
    assert cache.get(URL, "c2") is None
    assert cache.get("http://127.0.0.1:1", "c1") is None


def test_format(cache: TokenCache) -> None:
    cache.put(URL, "c1", entry())
    assert json.loads(cache.path.read_text()) == {
        "version": 3,
        "entries": {
            URL: {
                "c1": {
                    "default": {
                        "access_token": "dal:first-token-value",
                        "token_type": "Bearer",
                        "expires_at": "2026-11-29T20:00:00+00:00",
                        "obtained_at": "2026-11-29T12:00:00+00:00",
                        "scope": "chats--all:ro",
                    }
                }
            }
        },
        "customers": {},
        "bots": {},
    }


V1 = {
    "version": 1,
    "entries": {
        URL: {
            "c1": {
                "access_token": "dal:today-s-release-token",
                "token_type": "Bearer",
                "expires_at": "2026-11-29T20:00:00+00:00",
                "obtained_at": "2026-11-29T12:00:00+00:00",
                "scope": "chats--all:ro",
                "refresh_token": "refresh-today-s-release",
            },
            "c2": {
                "access_token": "dal:other-client-token",
                "expires_at": "2026-11-29T20:00:00+00:00",
                "obtained_at": "2026-11-29T12:00:00+00:00",
            },
        }
    },
}


def test_a_version_1_cache_is_read_as_the_default_account_without_a_write(
    cache: TokenCache,
) -> None:
    cache.path.parent.mkdir(mode=0o700)
    cache.path.write_text(json.dumps(V1))
    cache.path.chmod(0o600)
    before = cache.path.read_bytes()
    found = cache.get(URL, "c1")
    assert found is not None
    assert found.access_token == "dal:today-s-release-token"
    assert found.refresh_token == "refresh-today-s-release"
    assert cache.get(URL, "c1", "viewer") is None
    assert cache.path.read_bytes() == before, "reading never rewrites"


def test_the_first_write_migrates_version_1_and_drops_no_entry(cache: TokenCache) -> None:
    cache.path.parent.mkdir(mode=0o700)
    cache.path.write_text(json.dumps(V1))
    cache.path.chmod(0o600)
    cache.put(URL, "c1", entry("dal:a-viewer-token-value"), "viewer")
    document = json.loads(cache.path.read_text())
    assert document["version"] == 3
    assert set(document["entries"][URL]) == {"c1", "c2"}
    assert set(document["entries"][URL]["c1"]) == {"default", "viewer"}
    assert document["entries"][URL]["c1"]["default"] == V1["entries"][URL]["c1"]  # type: ignore[index]
    assert document["entries"][URL]["c2"]["default"]["access_token"] == "dal:other-client-token"


def test_a_newer_cache_is_left_untouched(cache: TokenCache) -> None:
    cache.path.parent.mkdir(mode=0o700)
    newer = json.dumps({"version": 4, "entries": {"anything": "new"}})
    cache.path.write_text(newer)
    cache.path.chmod(0o600)
    with pytest.warns(CacheWarning, match=r"cache format version 4\), so it is left untouched"):
        assert cache.get(URL, "c1") is None
    with pytest.raises(CacheUnusable, match="newer pytest-livechat-token"):
        cache.put(URL, "c1", entry())
    assert cache.path.read_text() == newer


def test_other_entries_survive_every_write(cache: TokenCache) -> None:
    cache.put(URL, "c1", entry("dal:one-token-value"))
    cache.put(URL, "c2", entry("dal:two-token-value"))
    cache.put("http://127.0.0.1:9", "c1", entry("dal:three-token-value"))
    cache.put(URL, "c1", entry("dal:one-token-again"))
    assert cache.remove(URL, "c2") == entry("dal:two-token-value")
    assert cache.entries() == {
        (URL, "c1", "default"): entry("dal:one-token-again"),
        ("http://127.0.0.1:9", "c1", "default"): entry("dal:three-token-value"),
    }


def test_private_files(cache: TokenCache) -> None:
    cache.put(URL, "c1", entry())
    assert cache.path.stat().st_mode & 0o777 == 0o600
    assert cache.path.parent.stat().st_mode & 0o777 == 0o700
    assert cache.locks.write_path.parent == cache.path.parent
    assert cache.locks.write_path.stat().st_mode & 0o077 == 0


def test_looser_file_is_made_private(cache: TokenCache) -> None:
    cache.put(URL, "c1", entry())
    os.chmod(cache.path, 0o644)
    cache.get(URL, "c1")
    assert cache.path.stat().st_mode & 0o777 == 0o600


def test_lock_file_is_never_deleted(cache: TokenCache) -> None:
    cache.put(URL, "c1", entry())
    cache.get(URL, "c1")
    assert cache.locks.write_path.exists()


def test_entry_repr_hides_the_token() -> None:
    assert "first-token-value" not in repr(entry())


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"version": 1, "entries": {"https://a', "not valid JSON"),
        (b"", "not valid JSON"),
        (b"\xff\xfe\x00binary", "can't decode"),
        (b"[1, 2]", "not a pytest-livechat-token cache"),
        (b'{"version": "2", "entries": {}}', "not a pytest-livechat-token cache"),
        (b'{"version": 1, "entries": []}', "no entries object"),
        (b'{"version": 1, "entries": {"u": 3}}', "no entries object"),
        (b'{"version": 2, "entries": {"u": {"c": 3}}}', "1 damaged entry"),
    ],
)
def test_damaged_file_is_a_miss_with_one_warning(
    cache: TokenCache, content: bytes, reason: str
) -> None:
    cache.path.parent.mkdir(parents=True)
    cache.path.write_bytes(content)
    with pytest.warns(CacheWarning) as warned:
        assert cache.get(URL, "c1") is None
    assert len(warned) == 1
    assert reason in str(warned[0].message)
    assert str(cache.path) in str(warned[0].message)
    with pytest.warns(CacheWarning):
        cache.put(URL, "c1", entry())
    assert cache.get(URL, "c1") == entry()


@pytest.mark.parametrize(
    "raw",
    [
        {
            "access_token": 3,
            "expires_at": "2026-11-29T20:00:00+00:00",
            "obtained_at": "2026-11-29T12:00:00+00:00",
        },
        {
            "access_token": "dal:x",
            "expires_at": "tomorrow",
            "obtained_at": "2026-11-29T12:00:00+00:00",
        },
        {
            "access_token": "dal:x",
            "expires_at": "2026-11-29T20:00:00",
            "obtained_at": "2026-11-29T12:00:00+00:00",
        },
        {"access_token": "dal:x", "obtained_at": "2026-11-29T12:00:00+00:00"},
        {"access_token": "dal:x", "expires_at": 5, "obtained_at": "2026-11-29T12:00:00+00:00"},
        {
            "access_token": "dal:x",
            "expires_at": "2026-11-29T20:00:00+00:00",
            "obtained_at": "2026-11-29T12:00:00+00:00",
            "scope": 1,
        },
        "not an object",
    ],
)
def test_damaged_entry_is_a_miss_and_others_survive(cache: TokenCache, raw: object) -> None:
    cache.put(URL, "good", entry())
    document = json.loads(cache.path.read_text())
    document["entries"][URL]["bad"] = {"default": raw}
    cache.path.write_text(json.dumps(document))
    with pytest.warns(CacheWarning, match="1 damaged entry"):
        assert cache.get(URL, "bad") is None
    with pytest.warns(CacheWarning):
        assert cache.get(URL, "good") == entry()
    with pytest.warns(CacheWarning):
        cache.put(URL, "other", entry("dal:other-token-value"))
    assert set(json.loads(cache.path.read_text())["entries"][URL]) == {"good", "other"}
    assert cache.get(URL, "good") == entry()  # no warning any more: the damaged entry is gone


def test_unreadable_file_is_a_miss(cache: TokenCache) -> None:
    cache.path.mkdir(parents=True)  # a directory where the file should be
    with pytest.warns(CacheWarning, match="is not used: it is not a regular file"):
        assert cache.get(URL, "c1") is None


def test_failed_write_leaves_no_temp_file_and_the_old_file(cache: TokenCache) -> None:
    cache.put(URL, "c1", entry())
    before = cache.path.read_bytes()
    unserialisable = CacheEntry("dal:x-token-value", NOW, NOW, scope=object())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        cache.put(URL, "c2", unserialisable)
    assert cache.path.read_bytes() == before
    assert sorted(p.name for p in cache.path.parent.iterdir()) == [
        "tokens.json",
        "tokens.json.lock",
    ]


def test_leftovers_of_a_killed_writer_are_removed(cache: TokenCache) -> None:
    cache.put(URL, "c1", entry())
    leftover = cache.path.parent / ".tokens.json.abc123.tmp"
    leftover.write_text("{half")
    cache.put(URL, "c2", entry())
    assert not leftover.exists()


def test_lock_wait_is_bounded_and_names_the_lock_file(cache: TokenCache) -> None:
    cache.put(URL, "c1", entry())
    with held_by_another_process(cache.locks.write_path):
        with pytest.raises(CacheLockTimeout) as info:
            cache.put(URL, "c2", entry())
        assert str(cache.locks.write_path) in str(info.value)
        # A plain read needs no lock: the file is only ever replaced whole.
        assert cache.get(URL, "c1") == entry()
    assert cache.get(URL, "c2") is None


def test_a_read_creates_nothing(cache: TokenCache) -> None:
    assert cache.get(URL, "c1") is None
    assert not cache.path.parent.exists()


def test_what_the_cache_holds_is_a_secret_once_read(cache: TokenCache) -> None:
    from pytest_livechat_token._base import redact

    cache.put(URL, "c1", entry()._replace(refresh_token="refresh-cached-0123456789"))
    redact.forget_all()
    cache.entries()
    assert redact.contains("dal:first-token-value")
    assert redact.contains("refresh-cached-0123456789")
