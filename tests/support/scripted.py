"""A scripted stand-in for the person at the terminal, for in-process tests of the login."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

Step = str | BaseException | Callable[[int | None], str | None]


@dataclass
class ScriptedTerminal:
    """Answers each prompt with the next step: a string (pasted), an exception (raised: Ctrl-C,
    end of input, time-out) or a function of the wake descriptor (the browser's answer)."""

    steps: list[Step]
    shown: list[str] = field(default_factory=list)
    prompts: int = 0
    closed: bool = False
    hushed: int = 0
    """How many logins hushed it."""
    lingering: bool = False

    def say(self, text: str) -> None:
        self.shown.append(text)

    @contextlib.contextmanager
    def hush(self) -> Iterator[None]:
        self.hushed += 1
        yield

    def linger(self) -> None:
        self.lingering = True

    def ask_hidden(self, prompt: str, timeout: float, wake: int | None = None) -> str | None:
        self.prompts += 1
        self.shown.append(prompt)
        if not self.steps:
            raise EOFError
        step = self.steps.pop(0)
        if isinstance(step, BaseException):
            raise step
        if callable(step):
            return step(wake)
        return step

    def close(self) -> None:
        self.closed = True

    @property
    def text(self) -> str:
        return "".join(self.shown)


def opener(
    terminal: ScriptedTerminal | None,
) -> tuple[Callable[[], ScriptedTerminal | None], list[int]]:
    """An ``open_terminal`` for ``TokenSource``, and a list that counts how often it was called."""
    opened: list[int] = []

    def open_terminal() -> ScriptedTerminal | None:
        opened.append(1)
        return terminal

    return open_terminal, opened
