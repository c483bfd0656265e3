"""``private_file.PrivateFile`` and the cache over it: nothing it did not create is trusted."""

from __future__ import annotations

import json
import os
import threading
import warnings
from datetime import timedelta
from pathlib import Path

import pytest

from pytest_livechat_token._base.bearer import utcnow
from pytest_livechat_token._base.errors import NoCache
from pytest_livechat_token._store.cache import CacheEntry, CacheUnusable, CacheWarning, TokenCache


@pytest.fixture
def cache(tmp_path: Path) -> TokenCache:
    return TokenCache(tmp_path / "cache" / "tokens.json", lock_timeout=2)


NOW = utcnow()


def good_entry() -> CacheEntry:
    return CacheEntry("dal:abcdefgh-1234", NOW + timedelta(hours=8), NOW)


def test_a_deeply_nested_cache_is_damaged_and_replaced(cache: TokenCache) -> None:
    cache.path.parent.mkdir(mode=0o700)
    cache.path.write_text("[" * 100_000)
    with pytest.warns(CacheWarning, match="is damaged \\(nested too deeply\\)"):
        assert cache.get("u", "c") is None
    with pytest.warns(CacheWarning):
        cache.put("u", "c", good_entry())
    assert cache.get("u", "c") == good_entry()


def test_a_cache_over_one_mebibyte_is_damaged(cache: TokenCache) -> None:
    cache.path.parent.mkdir(mode=0o700)
    cache.path.write_text(json.dumps({"version": 1, "entries": {}, "pad": "x" * 1_100_000}))
    with pytest.warns(CacheWarning, match="larger than 1024 KiB"):
        assert cache.get("u", "c") is None


@pytest.mark.parametrize("kind", ["pipe", "directory"])
def test_a_pipe_or_a_directory_is_no_cache(tmp_path: Path, kind: str) -> None:
    """Read at once (a read that waited for a FIFO's writer would never end) as nothing, said
    by ``off`` and never as a warning; nothing is written there or beside it."""
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    path = folder / "tokens.json"
    os.mkfifo(path) if kind == "pipe" else path.mkdir()
    cache = TokenCache(path, lock_timeout=2)
    assert cache.off == f"no token cache ({path} is a {kind})"
    found: list[object] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reader = threading.Thread(target=lambda: found.append(cache.get("u", "c")), daemon=True)
        reader.start()
        reader.join(30)
        assert not reader.is_alive(), "reading a FIFO as the cache must not wait"
        assert found == [None]
        with pytest.raises(NoCache, match="no token cache"):
            cache.put("u", "c", good_entry())
        with cache.locks.login(1, lambda: None):
            pass
    assert sorted(folder.iterdir()) == [path], "no lock or temp file beside it"
    assert not cache.keeps()


def test_dev_null_is_no_cache() -> None:
    cache = TokenCache(Path("/dev/null"))
    assert cache.off == "no token cache (/dev/null is a device)"
    assert cache.entries() == {}
    with pytest.raises(NoCache):
        cache.put("u", "c", good_entry())
    assert Path("/dev/null").is_char_device()
    assert not Path("/dev/null.lock").exists()


def test_a_symlinked_cache_is_not_followed(cache: TokenCache, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.json"
    other = TokenCache(target)
    other.put("u", "c", good_entry())
    os.chmod(target, 0o644)
    cache.path.parent.mkdir(mode=0o700)
    cache.path.symlink_to(target)
    with pytest.warns(CacheWarning, match="is not used: it is a symbolic link"):
        assert cache.get("u", "c") is None
    assert target.stat().st_mode & 0o777 == 0o644, "no chmod through the link"
    before = target.read_bytes()
    with pytest.raises(CacheUnusable, match="it is a symbolic link"):
        cache.put("u", "c2", good_entry())
    assert cache.path.is_symlink(), "the link is not replaced by a file"
    assert target.read_bytes() == before, "what the link points to is not changed"
    assert not cache.keeps()


def test_a_group_writable_directory_is_not_used(cache: TokenCache) -> None:
    cache.path.parent.mkdir(mode=0o700)
    TokenCache(cache.path).put("u", "c", good_entry())
    os.chmod(cache.path.parent, 0o777)  # noqa: S103 - the very thing under test
    with pytest.warns(CacheWarning, match="is writable by others \\(mode 777\\)"):
        assert cache.get("u", "c") is None
    with pytest.raises(CacheUnusable, match="writable by others"):
        cache.put("u", "c", good_entry())


def test_a_group_writable_file_is_not_used(cache: TokenCache) -> None:
    cache.put("u", "c", good_entry())
    os.chmod(cache.path, 0o620)
    with pytest.warns(CacheWarning, match="it is writable by others \\(mode 620\\)"):
        assert cache.get("u", "c") is None
    before = cache.path.read_bytes()
    with pytest.raises(CacheUnusable, match="writable by others"):
        cache.put("u", "other-client", good_entry())
    assert cache.path.read_bytes() == before, "the other entries (refresh tokens) stay"
    assert cache.path.stat().st_mode & 0o777 == 0o620, "no chmod of a file it refuses"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown needs root")
def test_a_cache_owned_by_another_user_is_not_used(cache: TokenCache) -> None:
    cache.put("u", "c", good_entry())
    os.chown(cache.path, 12345, 12345)
    with pytest.warns(CacheWarning, match="it is owned by another user \\(uid 12345\\)"):
        assert cache.get("u", "c") is None
    os.chown(cache.path, 0, 0)
    os.chown(cache.path.parent, 12345, 12345)
    with pytest.warns(CacheWarning, match="directory .* is owned by another user"):
        assert cache.get("u", "c") is None
