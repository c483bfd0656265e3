"""One process of the stress run: stores and reads its own entries in a shared cache, forever.

Run by tests/bench/run.py, which SIGKILLs it at random and starts it again. Failures go to
``<stats>/failures.log``; the count of operations to ``<stats>/ops-<index>``.
"""

from __future__ import annotations

import os
import signal
import sys
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pytest_livechat_token._store.cache import CacheEntry, TokenCache

URL = "https://accounts.livechat.com"
CLIENTS = 3


def main(cache_path: str, index: int, stats: str) -> None:
    warnings.simplefilter("error")  # a damaged read is a failure here
    cache = TokenCache(Path(cache_path), lock_timeout=30)
    stats_dir = Path(stats)
    ops_file = stats_dir / f"ops-{index}"
    ops = int(ops_file.read_text()) if ops_file.exists() else 0
    stop = False

    def on_term(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    now = datetime.now(timezone.utc)
    mine: dict[str, str | None] = {f"p{index}-c{k}": None for k in range(CLIENTS)}
    try:
        # What an earlier incarnation stored and confirmed must still be there.
        for client in mine:
            found = cache.get(URL, client)
            mine[client] = found.access_token if found else None
        sequence = 0
        while not stop:
            client = f"p{index}-c{sequence % CLIENTS}"
            token = f"dal:{index}-{os.getpid()}-{sequence}"
            cache.put(URL, client, CacheEntry(token, now + timedelta(hours=1), now))
            mine[client] = token
            everything = cache.entries()
            for own, expected in mine.items():
                got = everything.get((URL, own, "default"))
                if expected is not None and (got is None or got.access_token != expected):
                    raise AssertionError(f"entry {own} lost or changed")
            sequence += 1
            ops += 2
            if sequence % 25 == 0:
                _save(ops_file, ops)
    except Exception as error:  # every failure is counted
        with (stats_dir / "failures.log").open("a") as log:
            log.write(f"process {index}: {type(error).__name__}: {error}\n")
    _save(ops_file, ops)


def _save(path: Path, ops: int) -> None:
    temp = path.with_suffix(".tmp")
    temp.write_text(str(ops))
    os.replace(temp, path)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
