"""``cli.project_ini``: livechat-token reads the project's pytest settings as pytest finds them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_livechat_token.cli import project_ini

FILES = {
    "pytest.ini": "[pytest]\nlivechat_client_id = from-pytest-ini\nlivechat_grant = code\n",
    "pyproject.toml": (
        '[tool.pytest.ini_options]\nlivechat_client_id = "from-pyproject"\n'
        "livechat_open_browser = false\n"
    ),
    "tox.ini": "[pytest]\nlivechat_client_id = from-tox\n",
    "setup.cfg": "[tool:pytest]\nlivechat_client_id = from-setup-cfg\nlivechat_require = true\n",
}


@pytest.mark.parametrize("name", list(FILES))
def test_each_kind_of_file_is_read_from_a_directory_above(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text(FILES[name])
    below = tmp_path / "tests" / "deeper"
    below.mkdir(parents=True)
    ini = project_ini(below)
    assert str(ini["client_id"]).startswith("from-")
    if name == "pyproject.toml":
        assert ini["open_browser"] is False
    if name == "setup.cfg":
        assert ini["require"] is True
    if name == "pytest.ini":
        assert ini["grant"] == "code"


def test_the_first_file_pytest_would_take_wins(tmp_path: Path) -> None:
    """In one directory pytest.ini before pyproject.toml; a pyproject.toml without pytest's
    table, or a tox.ini without its section, is passed over; an empty pytest.ini counts."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "tox.ini").write_text("[tox]\nenv_list = py\n")
    (tmp_path / "setup.cfg").write_text(FILES["setup.cfg"])
    assert project_ini(tmp_path)["client_id"] == "from-setup-cfg"
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    assert project_ini(tmp_path) == {}, "an empty pytest.ini is pytest's file: nothing set"


def test_no_file_and_damaged_files_are_no_settings(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options\nbroken")
    (tmp_path / "tox.ini").write_text("no section at all = 1\n")
    assert project_ini(tmp_path) == {}
