"""The docs against the plugin: the generated reference is current, every option, variable,
fixture, ini key and marker the pages name exists, each one that exists is documented, and the
README stays a three-minute read."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from pytest_livechat_token import plugin
from pytest_livechat_token._base.settings import REFRESH_ENV, TOKEN_ENV

ROOT = Path(__file__).parents[2]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
import livechat_reference as reference  # noqa: E402

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
TEXT = "\n".join(page.read_text() for page in PAGES)
OF_THE_TEST_SUITE = {"LIVECHAT_TESTS_NEED_CHROMIUM"}  # docs/development.md


def test_the_readme_is_at_most_8_kb() -> None:
    assert len((ROOT / "README.md").read_bytes()) <= 8192


@pytest.mark.parametrize(
    ("name", "page"),
    [
        ("options.md", reference.options_page),
        ("fixtures.md", reference.fixtures_page),
        ("api.md", reference.api_page),
    ],
)
def test_the_generated_pages_are_current(name: str, page: object) -> None:
    assert callable(page)
    committed = (ROOT / "docs" / "reference" / name).read_text()
    assert committed == page(), f"run the docs build (it rewrites docs/reference/{name})"


def test_every_option_named_exists_and_every_option_is_documented() -> None:
    recorded = reference.recorded()
    flags = {flag.flag for flag in recorded.flags}
    named = set(re.findall(r"--livechat-[a-z-]+[a-z]", TEXT))
    assert named - flags == set(), "documented, but no such option"
    assert all(flag.help for flag in recorded.flags)
    options = (ROOT / "docs" / "reference" / "options.md").read_text()
    assert all(f"`{flag}" in options for flag in flags)
    assert all(f"`{ini.name}`" in options for ini in recorded.inis)


def test_every_variable_named_exists_and_every_variable_is_documented() -> None:
    known = {name for name, _ in reference.environment()}
    for name in set(re.findall(r"LIVECHAT_[A-Z_]+(?:<NAME>)?", TEXT)) - OF_THE_TEST_SUITE:
        per_account = re.fullmatch(rf"({TOKEN_ENV}|{REFRESH_ENV})_[A-Z0-9_]+", name)
        assert name in known or per_account, f"{name}: documented, but not read by the plugin"
    options = (ROOT / "docs" / "reference" / "options.md").read_text()
    assert all(f"`{name}`" in options for name in known)


def test_every_fixture_ini_key_and_marker_named_exists() -> None:
    fixtures = set(plugin.__all__)
    inis = {ini.name for ini in reference.recorded().inis}
    markers = {marker.split("(", 1)[0] for marker in plugin.MARKERS}
    others = {"livechat_token", "livechat_reference"}  # -p no:livechat_token; the docs' generator
    named = set(re.findall(r"(?<![\w.])livechat_[a-z_]+", TEXT))
    assert named - fixtures - inis - markers - others == set()


def test_the_plugin_exports_every_fixture_it_defines() -> None:
    from pytest_livechat_token import fixtures

    defined = {
        name
        for module in (fixtures,)
        for name in dir(module)
        if name.startswith("livechat_")
        and type(getattr(module, name)).__name__.startswith("Fixture")
    }
    assert defined == set(plugin.__all__)


def test_every_fixture_and_marker_is_documented() -> None:
    page = (ROOT / "docs" / "reference" / "fixtures.md").read_text()
    for name, doc in reference.fixtures():
        assert doc, f"{name} has no docstring"
        assert f"## `{name}`" in page
    for marker in plugin.MARKERS:
        assert f"`@pytest.mark.{marker.split(': ', 1)[0]}`" in page


def test_every_ini_snippet_uses_real_keys() -> None:
    """The ``pyproject.toml`` snippets parse, and name only the plugin's ini keys."""
    tomllib = pytest.importorskip("tomllib", reason="new in Python 3.11")
    inis = {ini.name for ini in reference.recorded().inis}
    snippets = re.findall(r"```toml\n(.*?)```", TEXT, re.DOTALL)
    assert snippets
    for snippet in snippets:
        keys = tomllib.loads(snippet)["tool"]["pytest"]["ini_options"]
        assert set(keys) <= inis
