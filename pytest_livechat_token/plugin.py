"""The pytest glue: options, the ``livechat_bearer`` fixture, the report header, xdist hand-off."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .bearer import BearerToken, describe_duration, mask, seconds_left, utcnow
from .errors import LiveChatTokenError
from .settings import OPTIONS, TOKEN_ENV, Settings, resolve, shorten

if TYPE_CHECKING:
    import httpx

    from .obtain import TokenSource

# Only what every run needs is imported above; the cache, the login and httpx come when used.
SETTINGS = pytest.StashKey[Settings]()
STDIN_IS_TTY = pytest.StashKey[bool]()
PROCESS = pytest.StashKey[dict[str, Any]]()
SOURCE = pytest.StashKey["TokenSource"]()
HAND_OFF = "livechat_token"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("livechat", "LiveChat bearer token (pytest-livechat-token)")
    for option in OPTIONS:
        env = f" [env {option.env}]" if option.env else ""
        group.addoption(
            option.flag,
            dest=f"livechat_{option.name}",
            default=None,
            metavar=option.metavar,
            help=option.help + env,
        )
        parser.addini(option.ini, option.help, default=None)
    group.addoption(
        "--livechat-no-browser",
        action="store_true",
        dest="livechat_no_browser",
        help="At a login, print the address only; do not open a browser.",
    )
    parser.addini(
        "livechat_open_browser",
        "At a login, open the address in a browser.",
        type="bool",
        default=True,
    )
    group.addoption(
        "--livechat-login",
        action="store_true",
        dest="livechat_login",
        help="Log in before any test runs, even when a token is cached, and cache the new one.",
    )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> Generator[None, None, None]:
    # Output capture replaces stdin with /dev/null once this hook has run: look before it does.
    early_config.stash[STDIN_IS_TTY] = _stdin_is_tty()
    yield


def _stdin_is_tty() -> bool:
    try:
        return os.isatty(0)
    except OSError:
        return False


def _worker_label() -> str | None:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return f"worker {worker}" if worker else None


def _workerinput(config: pytest.Config) -> dict[str, Any] | None:
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    return workerinput


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "livechat_scopes(*scopes): skip the test unless the LiveChat token has all these scopes "
        "(for example 'chats--all:ro').",
    )
    cli = {option.name: config.getoption(f"livechat_{option.name}") for option in OPTIONS}
    cli["no_browser"] = config.getoption("livechat_no_browser")
    ini: dict[str, Any] = {option.name: config.getini(option.ini) for option in OPTIONS}
    ini["open_browser"] = config.getini("livechat_open_browser")
    try:
        settings = resolve(cli, os.environ, ini, home=Path.home())
    except LiveChatTokenError as error:
        raise pytest.UsageError(str(error)) from None
    workerinput = _workerinput(config)
    handed = workerinput.get(HAND_OFF) if workerinput else None
    if handed:
        settings = settings.with_handed(handed["settings"])
        interactive = bool(handed["interactive"])
    else:
        interactive = config.stash.get(STDIN_IS_TTY, False)
    config.stash[SETTINGS] = settings
    config.stash[PROCESS] = {"interactive": interactive, "handed": handed}
    if config.pluginmanager.hasplugin("xdist") and workerinput is None:
        config.pluginmanager.register(XdistHandOff(config), "livechat-token-xdist")
    if config.getoption("livechat_login") and workerinput is None:
        try:
            _source(config).login(force=True)
        except LiveChatTokenError as error:
            raise pytest.UsageError(f"--livechat-login: {error}") from None


def _source(config: pytest.Config) -> TokenSource:
    """This process's token source, made when first needed."""
    if SOURCE not in config.stash:
        from .obtain import TokenSource  # noqa: PLC0415 - off the start-up path

        process = config.stash[PROCESS]
        config.stash[SOURCE] = TokenSource(
            config.stash[SETTINGS],
            os.environ,
            interactive=process["interactive"],
            who=_worker_label(),
            handed=process["handed"],
        )
    return config.stash[SOURCE]


class XdistHandOff:
    """Hands each xdist worker the controller's settings and, when it has one, its token.

    So workers on hosts that share no disk with the controller need no prompt of their own.
    """

    def __init__(self, config: pytest.Config) -> None:
        self._config = config
        self._payload: dict[str, Any] | None = None

    def pytest_configure_node(self, node: Any) -> None:
        if self._payload is None:
            self._payload = self._make_payload()
        node.workerinput[HAND_OFF] = self._payload

    def _make_payload(self) -> dict[str, Any]:
        source = _source(self._config)
        payload: dict[str, Any] = {
            "settings": source.settings.handed_to_workers(),
            "interactive": source.interactive,
        }
        try:
            token = source.cached() or source.renewed()
        except LiveChatTokenError:
            token = None
        if token is not None:
            payload["token"] = str(token)
            payload["expires_at"] = token.expires_at.isoformat() if token.expires_at else None
            payload["scope"] = token.scope
        return payload


def pytest_report_header(config: pytest.Config) -> str:
    if os.environ.get(TOKEN_ENV, "").strip():
        return f"livechat: using the token in {TOKEN_ENV}"
    settings = config.stash[SETTINGS]
    if settings.client_id is None:
        return "livechat: no client id configured (--livechat-client-id or LIVECHAT_CLIENT_ID)"
    source = _source(config)
    head = f"livechat: client {shorten(settings.client_id)}"
    try:
        entry = source.cache.get(settings.accounts_url, settings.client_id)
    except LiveChatTokenError as error:
        return f"{head}, cache not readable: {error}"
    if entry is not None and source.fresh(entry.expires_at):
        left = describe_duration(seconds_left(entry.expires_at, utcnow()))
        renewal = ", then renewed silently" if entry.refresh_token else ""
        return f"{head}, token cached, {left} left{renewal}"
    if entry is not None and entry.refresh_token:
        return f"{head}, cached token expiring: it will be renewed silently when a test needs it"
    return f"{head}, no valid token cached (a test that needs one will ask you to log in)"


@pytest.fixture(scope="session")
def livechat_bearer(pytestconfig: pytest.Config) -> BearerToken:
    """A valid LiveChat bearer token: from the environment, the cache, or a guided login."""
    from .obtain import NotConfigured  # noqa: PLC0415 - off the start-up path

    try:
        return _source(pytestconfig).token()
    except NotConfigured as error:
        skipped, failed = str(error), None
    except LiveChatTokenError as error:
        skipped, failed = None, str(error)
    # Outside the except blocks, so that pytest shows our message alone, with no chain.
    if skipped is not None:
        pytest.skip(skipped)
    pytest.fail(failed or "", pytrace=False)


@pytest.fixture(scope="session")
def livechat_api(
    livechat_bearer: BearerToken, pytestconfig: pytest.Config
) -> Iterator[httpx.Client]:
    """An ``httpx.Client`` for the LiveChat API that sends the bearer token; closed at the end."""
    from .api import api_client  # noqa: PLC0415 - imports httpx

    client = api_client(pytestconfig.stash[SETTINGS].api_url, livechat_bearer)
    with client:
        yield client


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    yield
    marker = item.get_closest_marker("livechat_scopes")
    if marker is None:
        return
    token = getattr(item, "funcargs", {}).get("livechat_bearer")
    if not isinstance(token, BearerToken):
        pytest.fail(
            "@pytest.mark.livechat_scopes needs a test that uses livechat_bearer or livechat_api.",
            pytrace=False,
        )
    if token.scope is None:
        return  # a token from LIVECHAT_BEARER_TOKEN: its scopes are not known, so the test runs
    from .scopes import missing_scopes  # noqa: PLC0415 - only marked tests need it

    missing = missing_scopes(marker.args, token.scope)
    if missing:
        pytest.skip(
            f"the LiveChat token lacks the scope(s) {', '.join(missing)}: add them in the app's "
            "App Authorization block, then log in again (pytest --livechat-login)"
        )


def pytest_assertrepr_compare(op: str, left: object, right: object) -> list[str] | None:
    """A failed comparison with the token shows neither it nor the string it was compared to
    (pytest would otherwise print a diff of the two strings)."""
    if not isinstance(left, BearerToken) and not isinstance(right, BearerToken):
        return None

    def shown(value: object) -> str:
        if isinstance(value, BearerToken):
            return repr(value)
        if isinstance(value, str):
            return f"<str {mask(value)!r}, {len(value)} characters>"
        return type(value).__name__

    return [
        f"{shown(left)} {op} {shown(right)}",
        "(a LiveChat bearer token is never shown: compare it in your own code if you must)",
    ]
