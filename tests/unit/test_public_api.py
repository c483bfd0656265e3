"""The public API: everything in ``pytest_livechat_token.__all__`` is there, typed, and is what
the fixtures hand out; one version, written once."""

from __future__ import annotations

import inspect
import re
from importlib.metadata import version
from pathlib import Path

import pytest_livechat_token as package
from pytest_livechat_token import plugin
from pytest_livechat_token._base import errors

ROOT = Path(__file__).parents[2]


def test_every_exported_name_resolves() -> None:
    for name in package.__all__:
        assert getattr(package, name) is not None


def test_what_the_fixtures_return_is_exported() -> None:
    """What each fixture hands out (its annotation, inside ``Iterator[...]`` or
    ``Callable[[str], ...]``) is an exported class, httpx's client or a ``str``."""
    exported = {name for name in package.__all__ if not name.startswith("_")}
    outside = {"httpx.Client", "httpx.AsyncClient", "str"}
    for name in plugin.__all__:
        returned = str(inspect.signature(getattr(plugin, name)).return_annotation)
        innermost = re.split(r"[\[\], ]+", returned.removesuffix("]").removesuffix("]"))[-1]
        assert innermost in exported | outside, (name, returned)
    assert {"BearerToken", "CustomerToken", "Rtm", "AsyncRtm", "PersonalAccessToken"} <= exported


def test_every_error_of_the_plugin_has_one_base() -> None:
    raised = [
        value
        for value in vars(errors).values()
        if inspect.isclass(value)
        and issubclass(value, Exception)
        and value.__module__ == errors.__name__
        and not issubclass(value, Warning)
    ]
    assert raised
    assert all(issubclass(kind, package.LiveChatTokenError) for kind in raised)


def test_the_version_is_written_once() -> None:
    found = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    assert found is not None
    declared = found.group(1)
    assert package.__version__ == version("pytest-livechat-token") == declared
