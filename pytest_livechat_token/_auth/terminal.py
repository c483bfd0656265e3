"""The person at the controlling terminal: what we tell them, and a hidden, time-limited answer.

We talk to the controlling terminal itself (``/dev/tty``; the console on Windows), not to
stdin/stdout, so pytest's output capture and xdist's worker pipes stand in nobody's way and
no capture state is touched. Input is not echoed: what is pasted carries a token.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TextIO

from .._base.errors import printable


class Terminal(Protocol):
    def say(self, text: str) -> None:
        """Show ``text`` to the person."""

    def hush(self) -> contextlib.AbstractContextManager[None]:
        """For a whole login: from before its address is shown, what is typed is neither
        shown nor edited by the terminal, so that the prompts read it all (a paste or an end
        of input made before a prompt shows counts)."""

    def linger(self) -> None:
        """The login ended without an answer: keep what is typed from now on unseen, and drop
        it when the run ends (``settle``), so that a late paste reaches neither the screen
        nor the shell."""

    def ask_hidden(self, prompt: str, timeout: float, wake: int | None = None) -> str | None:
        """Show ``prompt``, read one line without echo.

        Returns None, with what was typed so far dropped, as soon as the file descriptor
        ``wake`` becomes readable. Raises ``TimeoutError`` after ``timeout`` seconds,
        ``EOFError`` at end of input and ``KeyboardInterrupt`` on Ctrl-C.
        """

    def close(self) -> None: ...


_MAX_LINE = 16384
_BRACKETS = (b"\x1b[200~", b"\x1b[201~")
"""The markers a terminal puts around a bracketed paste: not part of what was pasted."""


def open_terminal() -> Terminal | None:
    """The controlling terminal of this process, or None where there is none (CI, remote)."""
    if sys.platform == "win32":
        return _Console.open()
    try:
        descriptor = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return None
    if not os.isatty(descriptor):
        os.close(descriptor)
        return None
    return _Tty(descriptor)


def shown(text: str) -> str:
    """``text`` safe for a terminal: its lines kept, any control character in them escaped."""
    return "\n".join(printable(line, len(line)) for line in text.split("\n"))


@contextlib.contextmanager
def alarm_paused() -> Iterator[None]:
    """The real-time interval timer (``SIGALRM``, as pytest-timeout's default method uses it)
    stopped while a person answers, and started again with the time it had left: the time
    spent at the prompt does not count against a test's timeout."""
    import signal

    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return
    left, interval = signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        yield
    finally:
        if left > 0:
            signal.setitimer(signal.ITIMER_REAL, left, interval)


def _quiet(saved: list[Any], *, keys: bool) -> list[Any]:
    """The terminal's settings ``saved`` with echo and line editing off: what is typed is not
    shown and waits, byte by byte, to be read. ``keys``: the signal keys off too, while a
    prompt reads every key as it is typed (Ctrl-C included)."""
    import termios

    off = termios.ECHO | termios.ICANON | ((termios.ISIG | termios.IEXTEN) if keys else 0)
    quiet = [*saved]
    quiet[3] = saved[3] & ~off
    quiet[6] = [*saved[6]]
    quiet[6][termios.VMIN] = 1
    quiet[6][termios.VTIME] = 0
    return quiet


_LINGERING: list[Callable[[], None]] = []
"""How to put back each terminal left quiet after a login that ended without an answer."""


def settle() -> None:
    """Put back every terminal a login left quiet (``Terminal.linger``), dropping what was
    typed since: at exit, and before pytest's debugger reads the terminal."""
    while _LINGERING:
        _LINGERING.pop()()


def _control_keys(saved: list[Any] | None) -> dict[str, bytes]:
    """The interrupt, quit (``abort``), end-of-file, erase and kill keys the terminal's
    settings ``saved`` name, by the names ``LineEditor`` takes; a key they leave unset (or
    settings that could not be read) keeps ``LineEditor``'s usual one."""
    if saved is None:
        return {}
    import termios

    places = {"interrupt": termios.VINTR, "abort": termios.VQUIT, "end": termios.VEOF}
    places |= {"erase": termios.VERASE, "kill": termios.VKILL}
    keys = {name: saved[6][place] for name, place in places.items()}
    return {
        name: key
        for name, key in keys.items()
        if isinstance(key, bytes) and len(key) == 1 and key != b"\x00"
    }


class _Tty:
    def __init__(self, descriptor: int) -> None:
        self._fd = descriptor
        self._saved: list[Any] | None = None
        """The settings to put back, while hushed."""
        self._linger = False

    def say(self, text: str) -> None:
        data = shown(text).encode("utf-8", "replace")
        while data:
            data = data[os.write(self._fd, data) :]

    @contextlib.contextmanager
    def hush(self) -> Iterator[None]:
        import termios

        try:
            saved = termios.tcgetattr(self._fd)
        except termios.error:
            yield
            return
        guard = _EchoGuard.start(self._fd, saved)
        self._saved = saved
        try:
            termios.tcsetattr(self._fd, termios.TCSANOW, _quiet(saved, keys=False))
            yield
        finally:
            self._saved = None
            if self._linger:
                self._quiet_until_exit(saved, guard)
            else:
                termios.tcsetattr(self._fd, termios.TCSANOW, saved)
                if guard is not None:
                    guard.stand_down()

    def linger(self) -> None:
        self._linger = True

    def _quiet_until_exit(self, saved: list[Any], guard: _EchoGuard | None) -> None:
        """Echo stays off (line editing and the signal keys back on) until ``settle``, which
        drops what was typed and puts the settings back; the guard does it if we are killed."""
        import atexit
        import termios

        unshown = [*saved]
        unshown[3] = saved[3] & ~termios.ECHO
        with contextlib.suppress(termios.error):
            termios.tcsetattr(self._fd, termios.TCSANOW, unshown)
        descriptor = os.dup(self._fd)

        def put_back() -> None:
            with contextlib.suppress(termios.error, OSError):
                termios.tcflush(descriptor, termios.TCIFLUSH)
                termios.tcsetattr(descriptor, termios.TCSANOW, saved)
            os.close(descriptor)
            if guard is not None:
                guard.stand_down()

        if not _LINGERING:
            atexit.register(settle)
        _LINGERING.append(put_back)

    def ask_hidden(self, prompt: str, timeout: float, wake: int | None = None) -> str | None:
        if self._saved is None:  # a prompt of its own, not within a login's hush
            with self.hush():
                return self.ask_hidden(prompt, timeout, wake)
        import termios

        saved = self._saved
        termios.tcsetattr(self._fd, termios.TCSANOW, _quiet(saved, keys=True))
        try:
            self.say(prompt)  # only once echo is off, so that nothing pasted is shown
            editor = LineEditor(**_control_keys(saved))
            deadline = time.monotonic() + timeout
            with alarm_paused():
                return self._read_line(editor, deadline, wake)
        finally:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(self._fd, termios.TCSANOW, _quiet(saved, keys=False))
            self.say("\n")

    def _read_line(self, editor: LineEditor, deadline: float, wake: int | None) -> str | None:
        import select
        import termios

        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                ready, _, _ = select.select(
                    [self._fd, *([] if wake is None else [wake])], [], [], left
                )
                if wake is not None and wake in ready:
                    return None  # a half-typed paste is dropped below
                if not ready:
                    continue
                chunk = os.read(self._fd, 4096)
                if not chunk:
                    raise EOFError
                line = editor.feed(chunk)
                if line is not None:
                    return line
        finally:
            # What was typed or pasted after the line (a second paste) is dropped: left in the
            # terminal, it would reach the shell when we exit, echoed, run and kept in history.
            with contextlib.suppress(termios.error):
                termios.tcflush(self._fd, termios.TCIFLUSH)

    def close(self) -> None:
        os.close(self._fd)


class LineEditor:
    """The line being typed or pasted at a hidden prompt, edited as the terminal's own line
    editing would (erase, kill), from the bytes the terminal sends while its line editing and
    signal keys are off (``_quiet``). Ctrl-C is read as a key, not waited for as a signal,
    so it cancels the prompt whatever the process's threads and signal handlers are doing.
    """

    def __init__(
        self,
        *,
        interrupt: bytes = b"\x03",
        abort: bytes = b"\x1c",  # VQUIT
        end: bytes = b"\x04",
        erase: bytes = b"\x7f",
        kill: bytes = b"\x15",
    ) -> None:
        self._cancel = {interrupt, abort}
        self._end = end
        self._erase = {erase, b"\x7f", b"\x08"}
        self._kill = kill
        self._line = bytearray()

    def feed(self, chunk: bytes) -> str | None:
        """Take what the terminal sent: the whole line once it is ended (Enter), None while
        it goes on. Raises ``KeyboardInterrupt`` on the interrupt or quit key (Ctrl-C,
        Ctrl-\\) and ``EOFError`` on the end-of-file key (Ctrl-D) at the start of a line. A
        line is bounded: at ``_MAX_LINE`` bytes it is taken as it is."""
        for byte in chunk:
            key = bytes((byte,))
            if key in (b"\n", b"\r"):
                return self._done()
            if key in self._cancel:
                raise KeyboardInterrupt
            if key == self._end:
                if not self._line:
                    raise EOFError
            elif key in self._erase:
                while self._line and self._line[-1] & 0xC0 == 0x80:  # a character's tail
                    del self._line[-1]
                del self._line[-1:]
            elif key == self._kill:
                self._line.clear()
            else:
                self._line += key
                if len(self._line) >= _MAX_LINE:
                    return self._done()
        return None

    def _done(self) -> str:
        line = bytes(self._line)
        for marker in _BRACKETS:
            line = line.replace(marker, b"")
        self._line = bytearray()
        return line.decode("utf-8", "replace")


_GUARD = """
import ast, os, signal, sys, termios
signal.signal(signal.SIGHUP, signal.SIG_IGN)
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTTOU, signal.SIG_IGN)
descriptor, saved = int(sys.argv[2]), ast.literal_eval(sys.argv[3])
if sys.stdin.buffer.read() != b"done":
    termios.tcflush(descriptor, termios.TCIFLUSH)
    termios.tcsetattr(descriptor, termios.TCSANOW, saved)
"""
"""The echo guard: it waits for its stdin to end. When the process that asked ends without
saying ``done`` first (killed, ``os._exit`` by pytest-timeout's thread method), it drops
what was typed unseen and puts the terminal back as it was, echo included."""


class _EchoGuard:
    """A small process that restores the terminal's settings if this one ends while the
    answer is hidden, however it ends: nothing in a process killed or ended by ``os._exit``
    runs, so the restoring cannot be left to it."""

    def __init__(self, process: Any) -> None:
        self._process = process

    @classmethod
    def start(cls, descriptor: int, saved: list[Any]) -> _EchoGuard | None:
        import subprocess  # only at a prompt

        try:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _GUARD,
                    f"livechat-echo-guard {os.getpid()}",
                    str(descriptor),
                    repr(saved),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=(descriptor,),
                close_fds=True,
            )
        except OSError:
            return None  # no guard: the terminal is still restored on every path but a kill
        return cls(process)

    def stand_down(self) -> None:
        """The terminal is restored: the guard ends without touching it."""
        with contextlib.suppress(OSError, ValueError):
            self._process.stdin.write(b"done")
            self._process.stdin.close()
        with contextlib.suppress(Exception):
            self._process.wait(5)


class _Console:  # pragma: no cover - Windows only; not exercised on the machines we test on
    def __init__(self, out: TextIO) -> None:
        self._out = out

    @classmethod
    def open(cls) -> Terminal | None:
        try:
            out = open("CONOUT$", "w", encoding="utf-8")  # noqa: SIM115 - closed in close()
        except OSError:
            return None
        return cls(out)

    def say(self, text: str) -> None:
        self._out.write(text)
        self._out.flush()

    def hush(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()  # the console does not echo msvcrt's reads

    def linger(self) -> None:
        pass

    def ask_hidden(self, prompt: str, timeout: float, wake: int | None = None) -> str | None:
        # ``wake`` is not watched here: on Windows the browser's answer is pasted.
        if sys.platform == "win32":
            import msvcrt

            self.say(prompt)
            typed: list[str] = []
            deadline = time.monotonic() + timeout
            try:
                while True:
                    if time.monotonic() > deadline:
                        raise TimeoutError
                    if not msvcrt.kbhit():
                        time.sleep(0.05)
                        continue
                    char = msvcrt.getwch()
                    if char in "\r\n":
                        return "".join(typed)
                    if char == "\x03":
                        raise KeyboardInterrupt
                    if char == "\x1a":
                        raise EOFError
                    if char == "\b":
                        del typed[-1:]
                    else:
                        typed.append(char)
            finally:
                self.say("\n")
        raise EOFError

    def close(self) -> None:
        self._out.close()
