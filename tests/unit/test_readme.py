"""The README's quick start: its first two commands, each one line, both in a virtual
environment, and the second run word for word by CI."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]


def commands() -> list[str]:
    return re.findall(r"```sh\n(.*?)\n```", (ROOT / "README.md").read_text(), re.DOTALL)


def test_the_quick_start_is_two_one_line_commands_in_a_venv() -> None:
    install_and_run, test = commands()[:2]
    for command in (install_and_run, test):
        assert "\n" not in command
        assert command.startswith("python3 -m venv .venv && .venv/bin/python -m pip install ")
        assert " python -m" not in command, "a stock Debian or Ubuntu has no python command"
    assert "pytest --livechat-client-id=YOUR_CLIENT_ID" in install_and_run


def test_ci_runs_the_readme_test_command_word_for_word() -> None:
    test = commands()[1]
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test in ci


def test_the_quick_start_names_the_package_by_its_pypi_name() -> None:
    found = re.search(r'^name = "([^"]+)"$', (ROOT / "pyproject.toml").read_text(), re.MULTILINE)
    assert found is not None
    name = found.group(1)
    quick_start = (ROOT / "README.md").read_text().split("## Quick start")[1].split("```sh")[0]
    assert f"`pip install {name}`" in quick_start
