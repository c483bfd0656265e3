"""A step that must end once it has started, whatever interrupts its caller: an exchange with the
accounts server that rotates a pair, and the store of what it gave. Cut short by Ctrl-C or by
pytest-timeout (whose signal method raises in the main thread), the answer would be lost and the
cache would keep a refresh token the server no longer honours."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

_T = TypeVar("_T")


def shielded(step: Callable[[], _T], deadline: float) -> _T:
    """``step()``, run in a thread of its own: its result, or its exception raised here. When
    the caller is interrupted while it waits (``KeyboardInterrupt``, a test's time-out), the
    step still runs to its end (``step`` bounds itself; this waits at most ``deadline``
    seconds more, through further interrupts), and then the interruption goes on."""
    results: list[_T] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def run() -> None:
        try:
            results.append(step())
        except BaseException as error:  # handed to the caller
            errors.append(error)
        finally:
            done.set()

    thread = threading.Thread(target=run, name="livechat-shielded", daemon=True)
    try:
        thread.start()
        finished = done.wait(deadline)
    except BaseException:
        if thread.ident is None:  # interrupted before the step started: nothing to finish
            raise
        end = time.monotonic() + deadline
        while not done.is_set() and (left := end - time.monotonic()) > 0:
            try:
                done.wait(left)
            except BaseException:  # noqa: S112 - the step's own deadline ends this loop
                continue
        raise
    if not finished:
        from .._base.errors import AccountsUnreachable

        raise AccountsUnreachable(
            f"the accounts server gave no whole answer within {deadline:.0f} s"
        )
    if errors:
        raise errors[0]
    return results[0]
