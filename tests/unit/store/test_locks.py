"""``locks.Locks``: waits that end, pause pytest-timeout's alarm, and see the queue move."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from pytest_livechat_token._base.errors import CacheLockTimeout
from pytest_livechat_token._store.cache import TokenCache
from pytest_livechat_token._store.locks import Locks

from ...support.helpers import held_by_another_process


@pytest.fixture
def cache(tmp_path: Path) -> TokenCache:
    return TokenCache(tmp_path / "cache" / "tokens.json", lock_timeout=0.5)


def test_login_lock_waits_once_then_times_out(cache: TokenCache) -> None:
    waits: list[bool] = []
    cache.path.parent.mkdir(parents=True)
    with held_by_another_process(cache.locks.login_path()), pytest.raises(CacheLockTimeout) as info:  # noqa: SIM117
        with cache.locks.login(0.3, lambda: waits.append(True)):
            pytest.fail("the lock is held elsewhere")
    assert waits == [True]
    assert str(cache.locks.login_path()) in str(info.value)


def test_login_lock_of_a_killed_process_is_free(cache: TokenCache) -> None:
    cache.path.parent.mkdir(parents=True)
    with held_by_another_process(cache.locks.login_path()) as holder:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        waits: list[bool] = []
        with cache.locks.login(5, lambda: waits.append(True)):
            pass
    assert waits == []


class FakeTime:
    """A clock that only ``sleep`` moves; ``at`` runs a step once the clock has passed a time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.steps: list[tuple[float, Callable[[], object]]] = []
        self.alarms: list[tuple[float, float]] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.alarms.append(signal.getitimer(signal.ITIMER_REAL))
        self.now += seconds
        while self.steps and self.steps[0][0] <= self.now:
            _, step = self.steps.pop(0)
            step()


def end(process: subprocess.Popen[str]) -> None:
    process.kill()
    process.wait()


def test_a_wait_that_sees_the_queue_move_does_not_give_up(tmp_path: Path) -> None:
    """Three names and several workers: the lock's holder is itself queued behind another
    login. Each login that ends stores its token (the cache file changes): a wait that sees
    that goes on, even for four times its time-out in all; pytest-timeout's alarm is paused
    meanwhile and runs again after."""
    path = tmp_path / "cache" / "tokens.json"
    path.parent.mkdir(mode=0o700)
    fake = FakeTime()
    locks = Locks(path, lambda message: None, clock=fake.clock, sleep=fake.sleep)
    previous = signal.signal(signal.SIGALRM, lambda number, frame: None)
    signal.setitimer(signal.ITIMER_REAL, 600)
    try:
        with held_by_another_process(locks.login_path()) as holder:
            for n in range(1, 6):  # another login stores what it got every 8 s of a 10 s wait
                fake.steps.append((n * 8.0, partial(path.write_text, "x" * n)))
            fake.steps.append((45.0, partial(end, holder)))
            waits: list[bool] = []
            with locks.login(10, lambda: waits.append(True)) as waited:
                assert waited
        assert waits == [True]
        assert fake.now >= 45
        assert set(fake.alarms) == {(0.0, 0.0)}, "no alarm while waiting"
        assert 0 < signal.getitimer(signal.ITIMER_REAL)[0] <= 600
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_a_wait_where_the_queue_does_not_move_gives_up(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "tokens.json"
    path.parent.mkdir(mode=0o700)
    fake = FakeTime()
    locks = Locks(path, lambda message: None, clock=fake.clock, sleep=fake.sleep)
    with held_by_another_process(locks.login_path()), pytest.raises(CacheLockTimeout):  # noqa: SIM117
        with locks.login(10, lambda: None):
            pytest.fail("the lock is held elsewhere")
    assert 10 <= fake.now < 11
