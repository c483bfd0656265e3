"""``terminal``: the alarm paused while the person answers."""

from __future__ import annotations

import signal
import threading

from pytest_livechat_token.terminal import alarm_paused


def test_time_at_the_prompt_does_not_count_against_an_alarm() -> None:
    fired: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda number, frame: fired.append(number))
    try:
        signal.setitimer(signal.ITIMER_REAL, 600)
        with alarm_paused():
            assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0), "no alarm while asked"
        assert fired == []
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 0 < left <= 600, "the alarm runs again with the time it had left"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_the_alarm_is_left_alone_off_the_main_thread() -> None:
    previous = signal.signal(signal.SIGALRM, lambda number, frame: None)
    try:
        signal.setitimer(signal.ITIMER_REAL, 30)
        seen: list[float] = []

        def elsewhere() -> None:
            with alarm_paused():
                seen.append(signal.getitimer(signal.ITIMER_REAL)[0])

        worker = threading.Thread(target=elsewhere)
        worker.start()
        worker.join(30)
        assert len(seen) == 1
        assert seen[0] > 0, "only the main thread pauses the alarm"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
