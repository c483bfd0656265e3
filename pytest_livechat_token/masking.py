"""The pytest front end masks the known secrets (``redact``) where output lands, not field by
field, so that a channel nobody listed is covered by construction (``install``):

- everything pytest writes to the terminal: its terminal writer's last step (``write_raw``);
- log records whole, as they are made: message, arguments, exception text and stack;
- the files pytest and known plugins write: ``--debug``'s trace as it is written; the
  ``.pytest_cache`` values (``config.cache.set``) as they are set; junitxml, pytest-html (and
  its assets) and ``--report-log`` once they are written (``scrub_files``, at unconfigure);
- VCR cassettes as they are saved (``cassettes``).

Reports are still scrubbed where they travel (``scrub_report``: xdist sends them to the
controller, report plugins read them), and so are warnings (``scrub_warning``). A report's
representation objects are walked and their strings replaced in place, so that the terminal
keeps its layout and colours; if a secret survives (a representation this walk does not know),
the failure text is replaced by its masked plain text.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import os
from pathlib import Path
from typing import Any

import pytest

from . import redact

_MAX_DEPTH = 12


def install(config: pytest.Config) -> None:
    """Mask what this process writes from now on (at configure, once the terminal reporter
    and the cache exist)."""
    scrub_debug_log(config)
    scrub_log_records(config)
    if config.pluginmanager.get_plugin("terminalreporter") is not None:
        _mask_writer(config.get_terminal_writer())
    cache = getattr(config, "cache", None)
    if cache is not None:
        cache_set = cache.set

        def masked_set(key: str, value: object) -> None:
            cache_set(key, _scrubbed(copy.deepcopy(value), 0) if redact.known() else value)

        setattr(cache, "set", masked_set)  # noqa: B010 - on this one cache


def _mask_writer(writer: Any) -> None:
    """Every write of the terminal writer goes through ``redact.scrub``: its last step where
    it has one (``write_raw``, after the markup), else ``write`` (pytest before 9), which
    ``line``, ``sep`` and the source of tracebacks all go through."""
    name = "write_raw" if callable(getattr(writer, "write_raw", None)) else "write"
    write = getattr(writer, name)

    def masked(msg: str, **kwargs: Any) -> None:
        write(redact.scrub(msg) if redact.known() else msg, **kwargs)

    setattr(writer, name, masked)


def scrub_report(report: Any) -> None:
    """Mask every known secret in ``report``: failure text, sections, user properties, an
    xfail's reason and pytest-html's extras."""
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
    for name in ("wasxfail", "extras", "extra"):
        if (value := getattr(report, name, None)) is not None:
            setattr(report, name, _scrubbed(value, 0))


def scrub_warning(warning_message: Any) -> None:
    """A recorded warning whose text holds a secret gets masked text (same category) before
    the warnings summary shows it or xdist sends it to the controller."""
    message = warning_message.message
    text = str(message)
    if redact.contains(text):
        category = type(message) if isinstance(message, Warning) else UserWarning
        try:
            warning_message.message = category(redact.scrub(text))
        except TypeError:  # a category that takes other arguments
            warning_message.message = UserWarning(redact.scrub(text))


MAX_FILE = 256 * 1024 * 1024
"""Files larger than this are not read back to be masked (none of pytest's is)."""


def scrub_files(config: pytest.Config) -> None:
    """Mask the report files that were written whole at the end of the session: junitxml,
    pytest-html's report and its assets, ``--report-log``. Each is replaced atomically."""
    if not redact.known() or hasattr(config, "workerinput"):
        return
    paths: list[Path] = []
    for option in ("xmlpath", "htmlpath", "report_log"):
        value = config.getoption(option, None)
        if isinstance(value, str) and value:
            paths.append(Path(value).expanduser())
    html = config.getoption("htmlpath", None)
    if isinstance(html, str) and html and (assets := Path(html).parent / "assets").is_dir():
        paths += [path for path in assets.iterdir() if path.is_file()]
    for path in paths:
        with contextlib.suppress(OSError):
            _scrub_file(path)


def _scrub_file(path: Path) -> None:
    if not path.is_file() or path.stat().st_size > MAX_FILE:
        return
    text = path.read_bytes().decode("utf-8", "surrogateescape")
    scrubbed = redact.scrub(text)
    if scrubbed == text:
        return
    temp = path.with_name(f".{path.name}.livechat-masked")
    temp.write_bytes(scrubbed.encode("utf-8", "surrogateescape"))
    os.replace(temp, path)


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
                item = _scrubbed(value.pop(key), depth + 1)
                value[redact.scrub(key) if isinstance(key, str) else key] = item
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
    """Log records made once a secret is known carry it masked, whole: the message with its
    arguments, the exception's text and traceback (rendered now, as every formatter would),
    the stack. Live logs (``log_cli``), ``--log-file``, ``caplog`` and the captured-log
    sections all print what the record holds."""
    make = logging.getLogRecordFactory()

    def masked(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        if redact.known():
            with contextlib.suppress(Exception):  # a message that cannot be made stays as is
                message = record.getMessage()
                if (scrubbed := redact.scrub(message)) != message:
                    record.msg, record.args = scrubbed, None
            if record.exc_info and not record.exc_text:
                with contextlib.suppress(Exception):
                    text = logging.Formatter().formatException(record.exc_info)
                    record.exc_text = redact.scrub(text)
            if record.stack_info:
                record.stack_info = redact.scrub(record.stack_info)
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
