"""``terminal``: the alarm paused while the person answers, and the hidden prompt."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import termios
import threading

import pytest

from pytest_livechat_token._auth.terminal import LineEditor, _Tty, alarm_paused


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


# The hidden prompt, read from a real pseudo-terminal in this process: what the terminal sends
# once the prompt is shown, and the settings it is left with.


def _ask(keys: bytes, *, timeout: float = 30.0, wake: int | None = None) -> tuple[str | None, bool]:
    """``_Tty.ask_hidden`` on the far side of a new pseudo-terminal, ``keys`` typed once the
    prompt shows; the answer, and whether anything typed is left to read. What the prompt
    raises is raised here; the terminal's settings must be as they were on every path."""
    main, far = os.openpty()
    before = termios.tcgetattr(far)
    seen = bytearray()

    def person() -> None:
        with contextlib.suppress(OSError):
            while b"? " not in seen:
                seen.extend(os.read(main, 1024))
            os.write(main, keys)
            while True:  # keep reading, so that the prompt's last words never block
                if not os.read(main, 1024):
                    return

    reader = threading.Thread(target=person, daemon=True)
    reader.start()
    try:
        answer = _Tty(far).ask_hidden("Paste? ", timeout, wake)
        return answer, bool(select.select([far], [], [], 0)[0])
    finally:
        after = termios.tcgetattr(far)
        os.close(far)
        os.close(main)
        reader.join(30)
        assert after == before, "the terminal is left as it was"


def test_a_pasted_line_is_read_without_its_newline() -> None:
    answer, _ = _ask(b"https://localhost/#access_token=dal%3Aabc\r")
    assert answer == "https://localhost/#access_token=dal%3Aabc"


def test_ctrl_c_at_the_prompt_is_read_as_a_key_and_cancels() -> None:
    with pytest.raises(KeyboardInterrupt):
        _ask(b"half a paste\x03")


def test_ctrl_d_at_the_start_of_the_line_ends_input() -> None:
    with pytest.raises(EOFError):
        _ask(b"\x04")


def test_the_line_is_edited_as_the_terminal_would() -> None:
    answer, _ = _ask("tyop\x7f\x7fpo\x08\x08po wrong\x15right é\x7f\x04!\n".encode())
    assert answer == "right !"


def test_what_follows_the_line_is_dropped() -> None:
    answer, left = _ask(b"first\necho second\n")
    assert answer == "first"
    assert not left, "a second paste would reach the shell"


def test_bracketed_paste_markers_are_not_part_of_the_answer() -> None:
    answer, _ = _ask(b"\x1b[200~https://localhost/#state=s\x1b[201~\r")
    assert answer == "https://localhost/#state=s"


def test_a_wake_descriptor_ends_the_prompt_with_no_answer() -> None:
    readable, writable = os.pipe()
    try:
        os.write(writable, b"x")
        answer, _ = _ask(b"", wake=readable)
    finally:
        os.close(readable)
        os.close(writable)
    assert answer is None


def test_no_answer_in_time_is_a_timeout() -> None:
    with pytest.raises(TimeoutError):
        _ask(b"", timeout=0.01)


def test_an_endless_line_is_cut_at_its_bound() -> None:
    editor = LineEditor()
    assert editor.feed(b"x" * 4096) is None
    line = None
    while line is None:
        line = editor.feed(b"x" * 4096)
    assert len(line) == 16384


def test_the_terminal_s_own_keys_are_used() -> None:
    editor = LineEditor(interrupt=b"\x07", erase=b"#")
    assert editor.feed(b"\x03ab#c\n") == "\x03ac", "a key the terminal does not use is text"
    with pytest.raises(KeyboardInterrupt):
        editor.feed(b"\x07")


def test_what_is_typed_before_the_prompt_within_a_hush_is_read_by_it() -> None:
    """Within a login's hush, keys typed before the prompt shows (a paste, Ctrl-D) are neither
    echoed nor lost: the prompt reads them; afterwards the settings are as they were."""
    main, far = os.openpty()
    before = termios.tcgetattr(far)
    try:
        tty = _Tty(far)
        with tty.hush():
            assert not termios.tcgetattr(far)[3] & termios.ECHO
            os.write(main, b"early paste\n\x04")
            assert tty.ask_hidden("Paste? ", 30) == "early paste"
        assert termios.tcgetattr(far) == before
        echoed = bytearray()
        while select.select([main], [], [], 0)[0]:
            echoed.extend(os.read(main, 1024))
        assert b"early" not in echoed, "nothing typed was echoed"
    finally:
        os.close(far)
        os.close(main)


def test_a_login_that_ended_without_an_answer_keeps_late_input_unseen_until_settled() -> None:
    from pytest_livechat_token._auth import terminal

    main, far = os.openpty()
    before = termios.tcgetattr(far)
    try:
        tty = _Tty(far)
        with tty.hush():
            tty.linger()
        assert not termios.tcgetattr(far)[3] & termios.ECHO, "echo stays off"
        assert termios.tcgetattr(far)[3] & termios.ICANON, "line editing is back"
        os.write(main, b"late paste\n")
        terminal.settle()
        assert termios.tcgetattr(far) == before
        assert not select.select([far], [], [], 0)[0], "the late paste is dropped"
        terminal.settle()  # a second time: nothing left to do
    finally:
        os.close(far)
        os.close(main)
