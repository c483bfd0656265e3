"""The pytest front end masks the known secrets (``redact``) where they enter what pytest and
other plugins read, not field by field, so that a channel nobody listed is covered by
construction (``install``):

- what a test phase leaves for reporters, before any other plugin's hook implementation sees
  it (``Masker``, registered last and kept last);
- everything pytest writes to the terminal: its terminal writer's last step (``write_raw``);
- log records whole, as they are made: message, arguments, exception text and stack;
- the files pytest and known plugins write: ``--debug``'s trace as it is written, the
  ``.pytest_cache`` values as they are set, junitxml, pytest-html, ``--report-log`` and allure
  once they are written (``scrub_files``);
- VCR cassettes as they are saved, whoever made the ``VCR`` (``cassettes``).

A report's representation objects are walked and their strings replaced in place, so that the
terminal keeps its layout and colours; if a secret survives (a representation this walk does
not know), the failure text is replaced by its masked plain text.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import os
import sys
from collections.abc import Generator, Iterable
from pathlib import Path
from typing import Any, SupportsIndex

import pytest

from .._base import redact

_MAX_DEPTH = 12


MASKER = "livechat-token-masker"
"""The name ``Masker`` is registered under."""
_REPORT_FILES = pytest.StashKey[dict[str, Path]]()
_REPORT_FILE_OPTIONS = ("xmlpath", "htmlpath", "report_log", "allure_report_dir")
"""junitxml's, pytest-html's, pytest-reportlog's and allure-pytest's options: each plugin
expands ``~`` and environment variables in its path and resolves it from the directory pytest
started in. allure's is a directory: every file in it (its results record a test's parameters,
which may hold what the test was given)."""


def install(config: pytest.Config) -> None:
    """Mask what this process writes from now on (at configure, once the terminal reporter
    and the cache exist), and register the ``Masker``."""
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
    config.stash[_REPORT_FILES] = _report_files(config)
    config.pluginmanager.register(Masker(), MASKER)
    _watch_for_vcrpy(config)


_VCR_PERSISTER = "vcr.persisters.filesystem"


def _watch_for_vcrpy(config: pytest.Config) -> None:
    """vcrpy's persister masks what it saves (``cassettes.mask_filesystem_persister``): now
    when vcrpy is imported already, else as soon as anything imports it (a test module that
    makes its own ``vcr.VCR()``, or uses ``vcr.use_cassette``)."""
    if (module := sys.modules.get(_VCR_PERSISTER)) is not None:
        from .cassettes import mask_filesystem_persister  # vcrpy is there

        mask_filesystem_persister(module)
        return
    finder = _WhenVcrImported()
    sys.meta_path.insert(0, finder)
    config.add_cleanup(lambda: sys.meta_path.remove(finder) if finder in sys.meta_path else None)


class _WhenVcrImported:
    """An import finder that finds nothing itself: when vcrpy's persister module is imported,
    the other finders find it, and it is masked once it has run (a post-import hook)."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != _VCR_PERSISTER:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _MaskingLoader(spec.loader)  # type: ignore[assignment]
                return spec
        return None


class _MaskingLoader:
    """vcrpy's loader, which masks the persister once the module has run."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:  # get_source and the rest, as the loader has them
        return getattr(self._inner, name)

    def create_module(self, spec: Any) -> Any:
        return self._inner.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._inner.exec_module(module)
        from .cassettes import mask_filesystem_persister  # vcrpy is there

        mask_filesystem_persister(module)


def keep_last(manager: pytest.PytestPluginManager, masker: object) -> None:
    """Register the ``Masker`` again once another plugin was registered after it (a conftest
    found during collection): the hook implementations registered last are called first
    among their kind, so that no other plugin's ``tryfirst`` wrapper sees a report before it
    is masked."""
    manager.unregister(masker)
    manager.register(masker, MASKER)


class Masker:
    """The hook implementations that mask what a test phase leaves for reporters before any
    other plugin's implementation reads it. Registered last and kept last (``keep_last``), so
    that its ``trylast`` wrappers are the innermost of all and its ``tryfirst`` ones the
    outermost:

    - the exception, as it leaves a test phase or a fixture (``scrub_exception``, innermost):
      what the wrappers around see, and what ``call.excinfo`` holds for every
      ``pytest_runtest_makereport`` implementation (allure builds its message from it);
    - each captured section and user property, as the item is given it
      (``Item.add_report_section`` wrapped, ``Item.user_properties`` a masking list, on each
      item for its run): what a plugin that reads the item finds (pytest-json-report reads
      ``item._report_sections``);
    - the report, as pytest's own implementation returns it (innermost): what every other
      ``pytest_runtest_makereport`` wrapper sees after its ``yield``;
    - the report again before anyone logs it (outermost: subtests add their captured output
      after it was made, pytest-html its extras), and on an xdist worker before it is sent;
    - a warning, as it is recorded.
    """

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        add = item.add_report_section

        def masked_add(when: str, key: str, content: str) -> None:
            add(when, key, redact.scrub(content))

        item.add_report_section = masked_add  # type: ignore[method-assign]
        item.user_properties = _MaskedList(item.user_properties)
        try:
            return (yield)
        finally:
            with contextlib.suppress(AttributeError):
                del item.add_report_section

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_setup(self) -> Generator[None, object, object]:
        return (yield from _masking_exceptions())

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_call(self) -> Generator[None, object, object]:
        return (yield from _masking_exceptions())

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_teardown(self) -> Generator[None, object, object]:
        return (yield from _masking_exceptions())

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_fixture_setup(self) -> Generator[None, object, object]:
        return (yield from _masking_exceptions())

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_makereport(self) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if redact.known():
            scrub_report(report)
        return report

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> Generator[None, None, None]:
        if redact.known():
            scrub_report(report)
        return (yield)

    @pytest.hookimpl(tryfirst=True)  # before the summary keeps it or xdist sends it
    def pytest_warning_recorded(self, warning_message: Any) -> None:
        if redact.known():
            scrub_warning(warning_message)


class _MaskedList(list[Any]):
    """A list whose items are masked as they are added (``record_property`` appends)."""

    def __init__(self, items: Iterable[Any] = ()) -> None:
        super().__init__(_scrubbed(item, 0) for item in items)

    def append(self, item: Any) -> None:
        super().append(_scrubbed(item, 0))

    def extend(self, items: Iterable[Any]) -> None:
        super().extend(_scrubbed(item, 0) for item in items)

    def insert(self, index: SupportsIndex, item: Any) -> None:
        super().insert(index, _scrubbed(item, 0))


def _masking_exceptions() -> Generator[None, object, object]:
    """A wrapper's body: the exception leaving the wrapped call is masked where it is."""
    try:
        return (yield)
    except BaseException as error:
        if redact.known():
            scrub_exception(error)
        raise


def _mask_writer(writer: Any) -> None:
    """Every write of the terminal writer goes through ``redact.scrub``: its last step where
    it has one (``write_raw``, after the markup), else ``write`` (pytest before 9), which
    ``line``, ``sep`` and the source of tracebacks all go through."""
    name = "write_raw" if callable(getattr(writer, "write_raw", None)) else "write"
    write = getattr(writer, name)

    def masked(msg: str, **kwargs: Any) -> None:
        write(redact.scrub(msg) if redact.known() else msg, **kwargs)

    setattr(writer, name, masked)


_EXCEPTION_TEXTS = ("msg", "filename", "filename2", "strerror", "reason", "text")
"""Attributes of the standard exceptions (OSError's, SyntaxError's, pytest's outcomes) that
their text is made from but that are not in their ``__dict__``."""


def scrub_exception(error: BaseException) -> None:
    """Mask every known secret in ``error`` where it is, and in the exceptions chained to it
    or grouped in it: its arguments, its text attributes and notes (copies: an argument the
    test still holds is not changed). An exception whose own ``__str__`` still shows a secret
    is given a subclass of its class, of the same name, whose text is the masked one (where
    Python allows it: not for its built-in classes)."""
    pending, seen = [error], set[int]()
    while pending and len(seen) < 32:  # a chain (or group) that long is not walked further
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        _scrub_one(current)
        pending += [linked for linked in (current.__cause__, current.__context__) if linked]
        grouped = getattr(current, "exceptions", None)
        if isinstance(grouped, tuple):
            pending += [item for item in grouped if isinstance(item, BaseException)]


def _scrub_one(error: BaseException) -> None:
    names = {*getattr(error, "__dict__", ()), *_EXCEPTION_TEXTS, "args"}
    for name in names:
        with contextlib.suppress(Exception):
            value = getattr(error, name)
            if isinstance(value, (str, list, tuple, dict)) and redact.contains(repr(value)):
                setattr(error, name, _scrubbed(copy.deepcopy(value), 0))
    with contextlib.suppress(Exception):
        if redact.contains(text := str(error)):
            kind, shown = type(error), redact.scrub(text)
            same = {"__module__": kind.__module__, "__qualname__": kind.__qualname__}
            shows = {"__str__": lambda self: shown, "__repr__": lambda self: repr(shown)}
            error.__class__ = type(kind.__name__, (kind,), {**same, **shows})


_REPORT_IDENTITY = frozenset({"longrepr", "nodeid", "_id", "location", "keywords", "when"})
"""What a report is matched by (xdist checks a worker's report against its item by nodeid):
never changed. (Test ids made from a secret are masked where they are made.)"""


def scrub_report(report: Any) -> None:
    """Mask every known secret in ``report``, whatever attribute holds it: the failure text,
    sections, user properties, an xfail's reason, pytest-html's extras, what other plugins
    attached to it (pytest-json-report's ``_json_report_extra``)."""
    for name, value in list(vars(report).items()):
        if name in _REPORT_IDENTITY:
            continue
        if isinstance(value, (str, list, tuple, dict)) or dataclasses.is_dataclass(value):
            new = _scrubbed(value, 0)
            if new is not value:
                setattr(report, name, new)
    longrepr = getattr(report, "longrepr", None)
    if isinstance(longrepr, (str, tuple)):  # a message, or a skip's (path, line, reason)
        report.longrepr = _scrubbed(longrepr, 0)
    elif longrepr is not None:
        _scrubbed(longrepr, 0)
        text = str(longrepr)
        if redact.contains(text):
            report.longrepr = redact.scrub(text)


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


def _report_files(config: pytest.Config) -> dict[str, Path]:
    """Where junitxml, pytest-html and ``--report-log`` write, by option, as they resolve
    their options at configure: ``~`` and environment variables expanded, from the directory
    pytest started in (a test may change directory before the files are written)."""
    paths: dict[str, Path] = {}
    for option in _REPORT_FILE_OPTIONS:
        value = config.getoption(option, None)
        if isinstance(value, str) and value:
            with contextlib.suppress(RuntimeError, OSError):  # an unknown ~user: none written
                paths[option] = Path.cwd() / Path(os.path.expandvars(value)).expanduser()
    return paths


def scrub_files(config: pytest.Config) -> None:
    """Mask the report files that were written whole at the end of the session: junitxml,
    pytest-html's report and its assets, ``--report-log``, allure's results. Each is replaced
    atomically."""
    if not redact.known() or hasattr(config, "workerinput"):
        return
    files = config.stash.get(_REPORT_FILES, {})
    paths = list(files.values())
    if (html := files.get("htmlpath")) is not None:
        paths.append(html.parent / "assets")
    for directory in [path for path in paths if path.is_dir()]:
        paths += [path for path in directory.iterdir() if path.is_file()]
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
    string anew where anything in it was masked (else ``value`` itself)."""
    if isinstance(value, str):
        return redact.scrub(value)
    if depth <= _MAX_DEPTH:
        if isinstance(value, tuple):
            items = [_scrubbed(item, depth + 1) for item in value]
            if all(new is old for new, old in zip(items, value, strict=True)):
                return value
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
    from .._base.bearer import BearerToken, mask  # only for a failed comparison

    if not any(
        isinstance(side, BearerToken) or (isinstance(side, str) and redact.contains(side))
        for side in (left, right)
    ):
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
