"""A short run of each benchmark and of the stress run (full size: tox -e bench).

They check that each one works and, for the stress run, that nothing failed; they assert no
speed.
"""

from __future__ import annotations

import pytest

from ..bench import run

pytestmark = pytest.mark.bench


@pytest.mark.parametrize("name", ["startup", "warm", "xdist", "names"])
def test_ratio_benches(name: str) -> None:
    figures = run.BENCHES[name](True)
    for figure in figures.values() if name == "startup" else [figures]:
        assert figure["ratio"] > 0
        assert figure["runs"] == 1


def test_inprocess_bench() -> None:
    figures = run.inprocess(True)
    assert figures["runs"] == 3
    for figure in (figures["startup_ms"], figures["warm_ms"]):
        assert 0 < figure["min"] <= figure["median"]
    assert figures["warm_parts_median_ms"]["fixture"] > 0


def test_startup_instructions_bench() -> None:
    """Instruction counts (callgrind) of a one-test run, bare and with this plugin, with and
    without bytecode caches; said to be skipped where valgrind is missing."""
    import shutil

    figures = run.startup_instructions(True)
    if shutil.which("valgrind") is None:
        assert figures == {"skipped": "valgrind is not installed"}
        return
    for mode in ("with bytecode caches", "without bytecode caches"):
        counts = figures[mode]["instructions"]
        assert set(counts) == {"bare", "pytest-livechat-token"}
        assert counts["pytest-livechat-token"] > counts["bare"] > 0


def test_lookup_bench() -> None:
    figures = run.lookup(True)
    assert all(figure["calls"] == 200 for figure in figures.values())


def test_async_pool_bench() -> None:
    """The connections each client opened for its 20 requests (counted by the server) are
    what the bench is for; the times are only printed."""
    figures = run.async_pool(True)
    assert figures["livechat_async_api"]["connections"] == [1]
    assert figures["plain pooled httpx.AsyncClient"]["connections"] == [1]
    assert figures["a connection a request (0.1.x)"]["connections"] == [20]
    assert figures["ratio"] > 0


def test_cleanup_bench() -> None:
    """The counts are the bench's figures; here, that they are what the cleanup promises."""
    figures = run.cleanup(True)
    assert figures["exit"] == 0
    assert figures["started"] == figures["tests"] == 6
    assert figures["left_active"] == 0
    assert (figures["after_kill"], figures["after_next_run"]) == (1, 0)


def test_stress_smoke_loses_nothing() -> None:
    """Only what holds however loaded the machine is: how many writes a worker gets in before
    it is killed depends on the load, so the number of entries is bounded, not fixed."""
    figures = run.stress(True)
    assert figures["failures"] == 0
    assert figures["leftovers"] == 0
    assert figures["kills"] > 0
    assert 0 <= figures["entries"] <= 4 * 3, "no entry that no worker wrote"


def test_fuzz_smoke() -> None:
    assert run.fuzz(True)["exit"] == 0
