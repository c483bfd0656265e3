"""The pytest glue: options, configure, and the hooks (report header, scope marker, masking,
xdist hand-off). The fixtures live in ``fixtures``, the header in ``_plugin.header``, the masking in
``_plugin.masking``; the core is made by ``_plugin.stash.run_of`` when a token is first needed."""

from __future__ import annotations

import os
import sys
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ._base import redact
from ._base.environment import env_secrets
from ._base.errors import LiveChatTokenError
from ._base.settings import CI_RUNNERS, OPTIONS, PAT_ENV, REQUIRE_ENV, resolve
from ._plugin.stash import (
    BOT_TOKENS,
    CLEANUP,
    CUSTOMER_TOKENS,
    IDENTITIES,
    PROCESS,
    SETTINGS,
    STDIN_IS_TTY,
    TESTING,
    TOKENS,
    Process,
    guarded,
    replaying,
    run_of,
)
from .fixtures import (
    livechat_api,
    livechat_api_url,
    livechat_async_api,
    livechat_async_rtm,
    livechat_bearer,
    livechat_bearer_for,
    livechat_bot_api_for,
    livechat_bot_for,
    livechat_customer,
    livechat_customer_api,
    livechat_customer_async_api,
    livechat_customer_async_rtm,
    livechat_customer_for,
    livechat_customer_rtm,
    livechat_customer_rtm_for,
    livechat_rtm,
    livechat_rtm_for,
)

if TYPE_CHECKING:
    from ._base.pat import PersonalAccessToken

__all__ = [
    "livechat_api",
    "livechat_api_url",
    "livechat_async_api",
    "livechat_async_rtm",
    "livechat_bearer",
    "livechat_bearer_for",
    "livechat_bot_api_for",
    "livechat_bot_for",
    "livechat_customer",
    "livechat_customer_api",
    "livechat_customer_async_api",
    "livechat_customer_async_rtm",
    "livechat_customer_for",
    "livechat_customer_rtm",
    "livechat_customer_rtm_for",
    "livechat_rtm",
    "livechat_rtm_for",
]


MARKERS = (
    "livechat_scopes(*scopes): skip the test unless the LiveChat token has all these scopes "
    "(for example 'chats--all:ro').",
    "livechat_accounts(*names): obtain the tokens of these accounts before the test's "
    "function-scoped fixtures start (an HTTP mock, a network block), as "
    "livechat_bearer_for(name) gives them.",
    "livechat_customers(*names): the same for livechat_customer_for(name).",
    "livechat_rtm_login(agent={...}, customer={...}): what the test's RTM sessions log in with "
    "besides the token (agents: away, pushes, application, customer_monitoring_level, "
    "timezone; customers: group_id, customer_page, application, pushes).",
)
"""The markers, as ``pytest --markers`` and the docs' reference show them."""


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
        "--livechat-require",
        action="store_true",
        dest="livechat_require",
        help="Tests that need a LiveChat credential fail instead of being skipped when none is "
        f"configured (for CI). [env {REQUIRE_ENV}=1]",
    )
    parser.addini(
        "livechat_require",
        "Tests that need a LiveChat credential fail instead of being skipped when none is "
        "configured.",
        type="bool",
        default=False,
    )
    group.addoption(
        "--livechat-login",
        action="store_true",
        dest="livechat_login",
        help="Log in before any test runs, even when a token is cached (for scopes added to "
        "the app since: LiveChat shows its consent screen again), and cache the new one.",
    )


@pytest.hookimpl(wrapper=True)
def pytest_cmdline_main(config: pytest.Config) -> Generator[None, object, object]:
    result = yield
    if config.option.help:  # after pytest's own "Environment variables:"
        from ._base.settings import ENVIRONMENT  # only for --help

        lines = [f"  {name:<30} {meaning}" for name, meaning in ENVIRONMENT]
        print(
            "\nEnvironment variables of pytest-livechat-token (the settings' own are named "
            "[env ...] with their options above):\n" + "\n".join(lines)
        )
    return result


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> Generator[None, None, None]:
    # Output capture replaces stdin with /dev/null once this hook has run: look before it does.
    try:
        early_config.stash[STDIN_IS_TTY] = os.isatty(0)
    except OSError:
        early_config.stash[STDIN_IS_TTY] = False
    # ... and stdout and stderr: a CI runner masks what is registered on the streams it reads.
    if any(os.environ.get(name) for name in CI_RUNNERS):
        from ._auth.runner import start

        start(os.environ, stdout="PYTEST_XDIST_WORKER" not in os.environ)
    yield


@pytest.hookimpl(trylast=True)  # after the terminal reporter and the cache exist
def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    cli = {option.name: config.getoption(f"livechat_{option.name}") for option in OPTIONS}
    cli["no_browser"] = config.getoption("livechat_no_browser")
    cli["require"] = config.getoption("livechat_require")
    ini: dict[str, Any] = {option.name: config.getini(option.ini) for option in OPTIONS}
    ini["open_browser"] = config.getini("livechat_open_browser")
    ini["require"] = config.getini("livechat_require")
    try:
        settings = resolve(cli, os.environ, ini, home=Path.home)
        redact.remember(*env_secrets(os.environ))
        pat = _pat()
    except LiveChatTokenError as error:
        raise pytest.UsageError(str(error)) from None
    from ._plugin.masking import install

    install(config)
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    handed = workerinput.get("livechat_token") if workerinput else None
    if handed:
        from ._core.handed import settings_from  # only workers are handed anything

        settings = settings_from(settings, handed)
        interactive = bool(handed.get("interactive"))
    else:
        interactive = config.stash.get(STDIN_IS_TTY, False)
    config.stash[SETTINGS] = settings
    config.stash[PROCESS] = Process(interactive, handed or None, pat)
    config.stash[TOKENS] = {}
    config.stash[CUSTOMER_TOKENS] = {}
    config.stash[BOT_TOKENS] = {}
    config.stash[IDENTITIES] = {}
    if config.pluginmanager.hasplugin("xdist") and workerinput is None:
        config.pluginmanager.register(XdistHandOff(config), "livechat-token-xdist")
    if config.getoption("livechat_login") and workerinput is None:
        from ._base.errors import LoginCancelled
        from ._core.obtain import source_of  # the core: a login before any test runs

        cancelled: list[str] = []

        def login() -> None:
            try:
                source_of(run_of(config, at_configure=True)).login(force=True)
            except LoginCancelled as error:
                cancelled.append(str(error))

        message = guarded(login)
        if cancelled:  # an interrupt, as pytest's own Ctrl-C is: exit code 2
            pytest.exit(f"--livechat-login: {cancelled[0]}", returncode=pytest.ExitCode.INTERRUPTED)
        if message is not None:
            raise pytest.UsageError(f"--livechat-login: {message}")


def _pat() -> PersonalAccessToken | None:
    """``LIVECHAT_PAT``, checked and remembered as a secret (its module only when it is set)."""
    if not os.environ.get(PAT_ENV, "").strip():
        return None
    from ._base.pat import from_environ  # only for runs that set it

    pat = from_environ(os.environ)
    if pat is not None:
        redact.remember(*pat.secrets())
    return pat


class XdistHandOff:
    """Hands each xdist worker what ``handoff.payload`` builds, once for all workers: so
    workers on hosts that share no disk with the controller need no prompt of their own."""

    def __init__(self, config: pytest.Config) -> None:
        self._config = config
        self._payload: dict[str, Any] | None = None

    def pytest_configure_node(self, node: Any) -> None:
        from ._core.handed import KEY
        from ._core.handoff import payload  # only a controller with workers

        if self._payload is None:
            self._payload = dict(payload(run_of(self._config)))
        node.workerinput[KEY] = self._payload


def pytest_report_header(config: pytest.Config) -> list[str]:
    from ._plugin.header import header_lines

    lines: list[str] = []
    problem = guarded(lambda: lines.extend(header_lines(config)))
    return lines if problem is None else [*lines, f"livechat: {problem}"]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    item.config.stash[TESTING] = item.nodeid  # a chat started from now on is this test's
    accounts = item.get_closest_marker("livechat_accounts")
    customers = item.get_closest_marker("livechat_customers")
    if accounts is not None or customers is not None:
        from .fixtures import bearer_for, customer_for  # marked tests only

        # Before any fixture of the test: whatever a function-scoped fixture mocks or blocks
        # cannot stand in the way of the tokens.
        for name in accounts.args if accounts is not None else ():
            bearer_for(item.config)(name)
        for name in customers.args if customers is not None else ():
            customer_for(item.config)(name)
    yield
    marker = item.get_closest_marker("livechat_scopes")
    if marker is None:
        return
    from ._base.bearer import BearerToken  # only marked tests need these
    from ._base.scopes import missing_scopes

    token = getattr(item, "funcargs", {}).get("livechat_bearer")
    names = getattr(item, "fixturenames", ())
    if token is None and ("livechat_api" in names or "livechat_async_api" in names):
        if item.config.stash[PROCESS].pat is not None:
            return  # a Personal Access Token: its scopes are not known, so the test runs
        token = item.config.stash[TOKENS].get(item.config.stash[SETTINGS].account)
    if not isinstance(token, BearerToken):
        pytest.fail(
            "@pytest.mark.livechat_scopes needs a test that uses livechat_bearer or livechat_api.",
            pytrace=False,
        )
    if token.scope is None:
        return  # a token from LIVECHAT_BEARER_TOKEN: its scopes are not known, so the test runs
    missing = missing_scopes(marker.args, token.scope)
    if missing:
        pytest.skip(
            f"the LiveChat token lacks the scope(s) {', '.join(missing)}: add them in the app's "
            "App Authorization block, then log in again (pytest --livechat-login)"
        )


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[object], request: pytest.FixtureRequest
) -> Generator[None, object, object]:
    """A fixture of a wider scope than a test's: the chats it starts last as long as it does
    (they are the session's to deactivate)."""
    config = request.config
    if fixturedef.scope == "function":
        return (yield)
    testing = config.stash.get(TESTING, None)
    config.stash[TESTING] = None
    try:
        return (yield)
    finally:
        config.stash[TESTING] = testing


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    """Once the test's fixtures are torn down: deactivate the chats it started
    (``--livechat-cleanup=test``); a chat that cannot be is a warning, never an error."""
    yield
    config = item.config
    config.stash[TESTING] = None
    cleanup = config.stash.get(CLEANUP, None)
    if cleanup is not None and config.stash[SETTINGS].cleanup == "test":
        guarded(lambda: cleanup.finish(item.nodeid))


def pytest_sessionstart(session: pytest.Session) -> None:
    """First of all: deactivate the chats a killed run left in the journal (one line)."""
    config = session.config
    settings = config.stash[SETTINGS]
    if (
        settings.client_id is None
        or settings.cleanup == "off"
        or hasattr(config, "workerinput")
        or replaying(config)
        or not settings.token_cache.with_name("chats.json").is_file()
    ):
        return
    from ._plugin.stash import cleanup_of

    said: list[str] = []

    def sweep() -> None:
        cleanup = cleanup_of(config)
        swept = cleanup.sweep() if cleanup is not None else None
        if swept is not None and (swept.deactivated or swept.left):
            left = f"; {swept.left} left (livechat-token sweep)" if swept.left else ""
            said.append(
                f"livechat: deactivated {swept.deactivated} chat(s) that a killed run left "
                f"active{left}"
            )

    problem = guarded(sweep)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    for line in [*said, *([f"livechat: {problem}"] if problem else [])]:
        if reporter is not None:
            reporter.write_line(line)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The chats still active (``--livechat-cleanup=session``, and any a test left behind)."""
    cleanup = session.config.stash.get(CLEANUP, None)
    if cleanup is not None:
        guarded(lambda: cleanup.finish(None, everything=True))
        cleanup.close()


def pytest_assertrepr_compare(op: str, left: object, right: object) -> list[str] | None:
    """A failed comparison that involves a secret shows neither side (``masking.compared``)."""
    from ._plugin.masking import compared  # only for a failed comparison

    return compared(op, left, right)


def pytest_plugin_registered(plugin: object, manager: pytest.PytestPluginManager) -> None:
    """The masker stays the plugin registered last (``masking.keep_last``)."""
    masker = manager.get_plugin("livechat-token-masker")
    if masker is not None and plugin is not masker:
        from ._plugin.masking import keep_last  # imported at configure already

        keep_last(manager, masker)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """At the end too, as in the header: the tests skipped for want of a client id."""
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if isinstance(report.longrepr, tuple)
        and "no LiveChat client id configured" in str(report.longrepr[2])
    ]
    if skipped:
        terminalreporter.write_line(
            f"livechat: {len(skipped)} test(s) skipped: no client id configured "
            "(--livechat-client-id, LIVECHAT_CLIENT_ID or ini livechat_client_id)"
        )


def pytest_enter_pdb() -> None:
    """The debugger reads the terminal: put back one a login left quiet (``terminal.settle``)."""
    if (terminal := sys.modules.get(f"{__package__}._auth.terminal")) is not None:
        terminal.settle()


def pytest_unconfigure(config: pytest.Config) -> None:
    """The report files are complete now: mask them (``masking.scrub_files``)."""
    if redact.known():
        from ._plugin.masking import scrub_files

        scrub_files(config)


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    """A parameter that holds a known secret (``LIVECHAT_BEARER_TOKEN`` in a test's
    parameters) gets a masked test id: the id is everywhere (the ``-v`` line, headings,
    junitxml, ``.pytest_cache``, xdist's traffic), so it must never hold the secret."""
    if isinstance(val, str) and redact.known() and redact.contains(val):
        return redact.scrub(val)
    return None


@pytest.hookimpl(optionalhook=True)  # pytest-recording's; nothing happens without it
def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    from ._plugin.cassettes import configure  # only with pytest-recording

    identities: dict[str, str] = config.stash[IDENTITIES]
    configure(vcr, config.stash[SETTINGS].accounts_url, identities)
