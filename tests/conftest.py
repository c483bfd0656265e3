from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

# httpx imports httpcore lazily, at its first request, and keeps a map of httpcore's exception
# classes. A test with the pytester fixture removes, at its end, every module first imported
# during it; a later request would then import a second httpcore whose exceptions that map does
# not know, and a refused connection would escape as httpcore.ConnectError. Import it up front.
import httpcore  # noqa: F401
import pytest

from .support.accounts_server import TLS, AccountsServer
from .support.helpers import USER_TEST, Spawner

if TYPE_CHECKING:
    from .support.rtm_server import RtmServer

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def _no_known_secrets() -> Iterator[None]:
    """Each test starts and ends knowing no secret: what one test remembered masks nothing in
    the next."""
    from pytest_livechat_token._base import redact

    redact.forget_all()
    yield
    redact.forget_all()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the user's settings or real cache, opens a browser, or thinks it is a worker."""
    for name in list(os.environ):
        if name.startswith(("LIVECHAT_", "PYTEST_XDIST_")) or name in (
            "BROWSER",
            "DISPLAY",
            "WAYLAND_DISPLAY",
            "PYTEST_ADDOPTS",
            "GITHUB_ACTIONS",  # the CI runners a process registers secrets with
            "TF_BUILD",
            "BUILDKITE",
        ):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("PYTEST_ADDOPTS", UNUSED_PLUGINS)


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """pytester, whose runs leave out the plugins of the test extras that they do not use
    (hypothesis's alone imports hypothesis, 85 ms a run; pytest-asyncio warns of its settings
    under ``-W error``; pytest-randomly, of the bench extra, would shuffle suites whose tests
    run in file order); the tests of what pytest-html and pytest-recording write turn them on
    (``with_plugins``). (pytester itself clears ``PYTEST_ADDOPTS``: set it after it.)"""
    monkeypatch.setenv("PYTEST_ADDOPTS", UNUSED_PLUGINS)
    return pytester


NEVER_USED = "-p no:hypothesispytest -p no:anyio -p no:asyncio -p no:platformdirs -p no:randomly"
REPORTERS = "-p no:allure_pytest -p no:pytest_jsonreport"
UNUSED_PLUGINS = (
    f"-p no:html -p no:html_fixtures -p no:metadata -p no:recording {REPORTERS} {NEVER_USED}"
)


@pytest.fixture
def with_plugins(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pytest runs this test starts load pytest-html, pytest-recording, allure-pytest and
    pytest-json-report too."""
    monkeypatch.setenv("PYTEST_ADDOPTS", NEVER_USED)


@pytest.fixture
def accounts() -> Iterator[AccountsServer]:
    server = AccountsServer().start()
    yield server
    server.stop()


@pytest.fixture
def tls_accounts(monkeypatch: pytest.MonkeyPatch) -> Iterator[AccountsServer]:
    """The accounts server and the APIs over HTTPS; clients trust its CA as httpx lets a user
    say so (``SSL_CERT_FILE``)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(TLS / "ca.pem"))
    server = AccountsServer(tls=True).start()
    yield server
    server.stop()


@pytest.fixture
def rtm_server(accounts: AccountsServer) -> Iterator[RtmServer]:
    """The RTM APIs over a real WebSocket, on the tokens ``accounts`` issues."""
    from .support.rtm_server import RtmServer  # imports websockets

    server = RtmServer(accounts).start()
    yield server
    server.stop()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """A cache file of the test's own, for the in-process runs (``helpers.make_run``)."""
    return tmp_path / "cache" / "tokens.json"


@pytest.fixture
def cache_file(tmp_path: Path) -> Path:
    return tmp_path / "xdg-cache" / "pytest-livechat-token" / "tokens.json"


@pytest.fixture
def terminal(pytester: pytest.Pytester, accounts: AccountsServer) -> Iterator[Spawner]:
    """pytest in real pseudo-terminals, against the test accounts server."""
    spawner = Spawner(pytester, accounts.url)
    yield spawner
    spawner.close()


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A user's project with one test that uses ``livechat_bearer``."""
    pytester.makepyfile(test_user=USER_TEST)
    return pytester
