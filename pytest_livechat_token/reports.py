"""Masking the known secrets in a pytest report, before anything prints or writes it.

Walks the report's representation objects and replaces every string in place, so that the
terminal keeps its layout and colours; if a secret survives (a representation this walk does
not know), the failure text is replaced by its masked plain text.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

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
