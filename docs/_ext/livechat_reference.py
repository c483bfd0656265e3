"""The reference pages that are generated, never written by hand: options, ini keys and
environment variables from the plugin's own definitions (its ``pytest_addoption``, run
against a recorder), fixtures from their docstrings, markers from ``plugin.MARKERS``.

``conf.py`` writes them into ``reference/`` before each build; ``tests/unit/test_docs.py``
checks the hand-written pages against the same lists.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_livechat_token import plugin
from pytest_livechat_token._base.settings import ENVIRONMENT, OPTIONS, REQUIRE_ENV

_ENV = re.compile(r"\s*\[env ([A-Z_]+)(=1)?\]$")


@dataclass
class Flag:
    flag: str
    metavar: str | None
    help: str
    env: str | None


@dataclass
class Ini:
    name: str
    help: str
    type: str | None
    default: Any


@dataclass
class Recorder:
    """Stands in for pytest's parser: records what ``plugin.pytest_addoption`` adds."""

    flags: list[Flag] = field(default_factory=list)
    inis: list[Ini] = field(default_factory=list)

    def getgroup(self, name: str, description: str = "") -> Recorder:
        return self

    def addoption(self, flag: str, **options: Any) -> None:
        text = options.get("help", "")
        found = _ENV.search(text)
        help_text = text[: found.start()] if found else text
        self.flags.append(
            Flag(flag, options.get("metavar"), help_text, found.group(1) if found else None)
        )

    def addini(self, name: str, help: str, type: str | None = None, default: Any = None) -> None:
        self.inis.append(Ini(name, help, type, default))


def recorded() -> Recorder:
    recorder = Recorder()
    plugin.pytest_addoption(recorder)  # type: ignore[arg-type]
    return recorder


def environment() -> list[tuple[str, str]]:
    """Every variable the plugin reads, with what it holds."""
    named = [(o.env, f"{o.help} (as `{o.flag}`)") for o in OPTIONS if o.env]
    named.append((REQUIRE_ENV, "`1`: as `--livechat-require`"))
    return named + list(ENVIRONMENT)


def fixtures() -> list[tuple[str, str]]:
    return [(name, inspect.getdoc(getattr(plugin, name)) or "") for name in plugin.__all__]


def markers() -> list[tuple[str, str]]:
    return [tuple(marker.split(": ", 1)) for marker in plugin.MARKERS]  # type: ignore[misc]


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


GENERATED = (
    "<!-- generated from the plugin's own definitions by docs/_ext/livechat_reference.py -->"
)


def options_page() -> str:
    parts = recorded()
    rows = [
        f"| `{f.flag}{'=' + f.metavar if f.metavar else ''}` | "
        f"{'`' + f.env + '`' if f.env else ''} | {_cell(f.help)} |"
        for f in parts.flags
    ]
    inis = [f"| `{i.name}` | {i.type or 'string'} | {_cell(i.help)} |" for i in parts.inis]
    return "\n".join(
        [
            "# Options, ini keys and environment variables",
            "",
            GENERATED,
            "",
            "Each setting is read from the command line, else the environment, else the ini file"
            " (see [precedence](precedence.md)).",
            "",
            "## Command-line options",
            "",
            "| option | environment | what it does |",
            "|---|---|---|",
            *rows,
            "",
            "## ini keys",
            "",
            "In `pytest.ini`, `tox.ini` (`[pytest]`), `setup.cfg` (`[tool:pytest]`) or"
            " `pyproject.toml` (`[tool.pytest.ini_options]`).",
            "",
            "| key | type | what it does |",
            "|---|---|---|",
            *inis,
            "",
            "## Environment variables",
            "",
            "| variable | what it holds |",
            "|---|---|",
            *(f"| `{name}` | {_cell(meaning)} |" for name, meaning in environment()),
            "",
        ]
    )


def fixtures_page() -> str:
    lines = ["# Fixtures", "", GENERATED, ""]
    for name, doc in fixtures():
        lines += [f"## `{name}`", "", doc.replace("``", "`"), ""]
    lines += ["# Markers", ""]
    for signature, meaning in markers():
        lines += [f"- `@pytest.mark.{signature}`: {meaning}"]
    return "\n".join(lines) + "\n"


def api_page() -> str:
    """Every name ``pytest_livechat_token`` exports (``__all__``): its kind, its docstring, and
    its public methods and properties with the first line of theirs."""
    import pytest_livechat_token as package

    lines = [
        "# Python API",
        "",
        GENERATED,
        "",
        "What `pytest_livechat_token` exports: import these names from the package itself",
        "(`from pytest_livechat_token import BearerToken`); every other module path is internal.",
        f"`pytest_livechat_token.__version__` is the installed version ({package.__version__}"
        " when this page was made).",
        "",
    ]
    for name in sorted(name for name in package.__all__ if not name.startswith("_")):
        exported = getattr(package, name)
        bases = ", ".join(f"`{base.__name__}`" for base in exported.__bases__)
        lines += [f"## `{name}`", "", f"A class (bases: {bases}).", ""]
        lines += [(inspect.getdoc(exported) or "").replace("``", "`"), ""]
        members = [
            (member, value)
            for member, value in vars(exported).items()
            if not member.startswith("_")
            and (callable(value) or isinstance(value, property))
            and inspect.getdoc(value)
        ]
        for member, value in members:
            first = (inspect.getdoc(value) or "").split("\n\n")[0]
            lines.append(f"- `{member}`: {_cell(first).replace('``', '`')}")
        if members:
            lines.append("")
    return "\n".join(lines)


def write(reference: Path) -> None:
    """Write the generated pages into ``reference`` (only when they changed: a rebuild then
    reads nothing new)."""
    pages = (("options.md", options_page()), ("fixtures.md", fixtures_page()))
    for name, text in (*pages, ("api.md", api_page())):
        path = reference / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
