"""Where the pytest front end masks the known secrets (``redact``): test reports, before
anything prints, writes or sends them (``scrub_report``); log records (``scrub_log_records``);
``--debug``'s file (``scrub_debug_log``); failed comparisons (``compared``).

``scrub_report`` walks the report's representation objects and replaces every string in place,
so that the terminal keeps its layout and colours; if a secret survives (a representation this
walk does not know), the failure text is replaced by its masked plain text.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from typing import Any

import pytest

from . import redact

_MAX_DEPTH = 12


def scrub_report(report: Any) -> None:
    """Mask every known secret in ``report``'s failure text, sections and user properties."""
    longrepr = report.longrepr
    if isinstance(longrepr, (str, tuple)):  # a message, or a skip's (path, line, reason)
        report.longrepr = _scrubbed(longrepr, 0)
    elif longrepr is not None:
        _scrubbed(longrepr, 0)
        text = str(longrepr)
        if redact.contains(text):
            report.longrepr = redact.scrub(text)
    report.sections = [(title, redact.scrub(content)) for title, content in report.sections]
    report.user_properties = [(name, _scrubbed(value, 0)) for name, value in report.user_properties]


def _scrubbed(value: Any, depth: int) -> Any:
    """``value`` with its strings masked: lists, dicts and dataclasses in place, a tuple or a
    string anew."""
    if isinstance(value, str):
        return redact.scrub(value)
    if depth <= _MAX_DEPTH:
        if isinstance(value, tuple):
            items = [_scrubbed(item, depth + 1) for item in value]
            return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
        if isinstance(value, list):
            value[:] = [_scrubbed(item, depth + 1) for item in value]
        elif isinstance(value, dict):
            for key in list(value):
                value[key] = _scrubbed(value[key], depth + 1)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for field in dataclasses.fields(value):
                current = getattr(value, field.name)
                new = _scrubbed(current, depth + 1)
                if new is not current:
                    with contextlib.suppress(AttributeError, TypeError):
                        object.__setattr__(value, field.name, new)
    return value


def scrub_debug_log(config: pytest.Config) -> None:
    """``--debug`` traces every hook's result (the fixture's token too) to a file people attach
    to bug reports: send what it writes through ``redact.scrub``."""
    if not config.getoption("debug", None):
        return
    root = config.trace.root
    writer = getattr(root, "_writer", None)  # pluggy has no getter; without one, no trace at all
    root.setwriter((lambda text: writer(redact.scrub(text))) if callable(writer) else None)


def scrub_log_records(config: pytest.Config) -> None:
    """Log records made once a secret is known carry it masked: live logs (``log_cli``),
    ``caplog`` and the captured-log sections all print the record's message."""
    make = logging.getLogRecordFactory()

    def masked(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        if redact.known():
            with contextlib.suppress(Exception):  # a message that cannot be made stays as is
                message = record.getMessage()
                if (scrubbed := redact.scrub(message)) != message:
                    record.msg, record.args = scrubbed, None
        return record

    logging.setLogRecordFactory(masked)
    config.add_cleanup(lambda: logging.setLogRecordFactory(make))


def compared(op: str, left: object, right: object) -> list[str] | None:
    """A failed comparison that involves a secret shows neither side (pytest would print a
    diff, which can show a part of a token that no mask finds afterwards); None when neither
    side holds one."""
    from .bearer import BearerToken, mask  # noqa: PLC0415 - only for a failed comparison

    if not any(isinstance(side, BearerToken) or _holds_secret(side) for side in (left, right)):
        return None

    def shown(value: object) -> str:
        if isinstance(value, BearerToken):
            return repr(value)
        if isinstance(value, str):
            return f"<str {redact.scrub(mask(value))!r}, {len(value)} characters>"
        return type(value).__name__

    return [
        f"{shown(left)} {op} {shown(right)}",
        "(a LiveChat token is never shown: compare it in your own code if you must)",
    ]


def _holds_secret(value: object) -> bool:
    return isinstance(value, str) and redact.contains(value)
