"""The pytest glue: options, the ``livechat_bearer`` and ``livechat_bearer_for`` fixtures, the
report header, xdist hand-off."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Generator, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import pytest

from . import redact
from .bearer import BearerToken, CustomerToken, describe_duration, mask, seconds_left, utcnow
from .errors import LiveChatTokenError, printable
from .settings import (
    ACCOUNT_RULE,
    DEFAULT_ACCOUNT,
    OPTIONS,
    TOKEN_ENV,
    Settings,
    Wording,
    env_token,
    env_tokens,
    is_account_name,
    resolve,
    shorten,
)

if TYPE_CHECKING:
    import httpx

    from .customers import CustomerSource, HandedCustomer
    from .obtain import HandedToken, HandOff, Status, TokenSource
    from .pat import PersonalAccessToken

# Only what every run needs is imported above; the cache, the login and httpx come when used.
SETTINGS = pytest.StashKey[Settings]()
STDIN_IS_TTY = pytest.StashKey[bool]()
PROCESS = pytest.StashKey["Process"]()
SOURCE = pytest.StashKey["TokenSource"]()
CUSTOMERS = pytest.StashKey["CustomerSource"]()
TOKENS = pytest.StashKey[dict[str, BearerToken]]()
"""The token of each account obtained in this process, by name (``livechat_bearer_for``)."""
PAT_ENV = "LIVECHAT_PAT"
HAND_OFF = "livechat_token"
WORDING = Wording(
    flags={
        "client_id": "pass --livechat-client-id=ID, set LIVECHAT_CLIENT_ID or ini "
        "livechat_client_id",
        **{option.name: option.flag for option in OPTIONS if option.name != "client_id"},
        "login": "pytest --livechat-login",
    },
    log_in_first=(
        "run pytest once in a terminal to log in (the token is cached for later runs), "
        "log in before the workers start with --livechat-login"
    ),
)
NO_TERMINAL_LOGIN = Wording(
    flags=WORDING.flags, log_in_first="run pytest --livechat-login in a terminal"
)


class Process(NamedTuple):
    """What this process knows of itself: whether a person can be asked, and what the xdist
    controller handed it (None in the controller or without xdist). Immutable."""

    interactive: bool
    handed: HandOff | None
    pat: PersonalAccessToken | None = None
    """The Personal Access Token of ``LIVECHAT_PAT``, for ``livechat_api``."""


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
        help="Log in before any test runs, even when a token is cached, and cache the new one. "
        f"[env {TOKEN_ENV}: a token to use as is, with no cache and no login]",
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
        redact.remember(*env_tokens(os.environ).values())
        pat = _pat()
    except LiveChatTokenError as error:
        raise pytest.UsageError(str(error)) from None
    _scrub_debug_log(config)
    _scrub_log_records(config)
    workerinput = _workerinput(config)
    handed: HandOff | None = workerinput.get(HAND_OFF) if workerinput else None
    if handed:
        settings = settings.with_handed(handed.get("settings", {}))
        interactive = bool(handed.get("interactive"))
    else:
        interactive = config.stash.get(STDIN_IS_TTY, False)
    config.stash[SETTINGS] = settings
    config.stash[PROCESS] = Process(interactive, handed, pat)
    config.stash[TOKENS] = {}
    if config.pluginmanager.hasplugin("xdist") and workerinput is None:
        config.pluginmanager.register(XdistHandOff(config), "livechat-token-xdist")
    if config.getoption("livechat_login") and workerinput is None:
        message = _guarded(lambda: _source(config, NO_TERMINAL_LOGIN).login(force=True))
        if message is not None:
            raise pytest.UsageError(f"--livechat-login: {message}")


def _pat() -> PersonalAccessToken | None:
    """``LIVECHAT_PAT``, checked and remembered as a secret (its module only when it is set)."""
    if not os.environ.get(PAT_ENV, "").strip():
        return None
    from .pat import from_environ  # noqa: PLC0415 - only for runs that set it

    pat = from_environ(os.environ)
    if pat is not None:
        redact.remember(*pat.secrets())
    return pat


def _scrub_debug_log(config: pytest.Config) -> None:
    """``--debug`` traces every hook's result (the fixture's token too) to a file people attach
    to bug reports: send what it writes through ``redact.scrub``."""
    if not config.getoption("debug", None):
        return
    root = config.trace.root
    writer = getattr(root, "_writer", None)  # pluggy has no getter; without one, no trace at all
    root.setwriter((lambda text: writer(redact.scrub(text))) if callable(writer) else None)


def _scrub_log_records(config: pytest.Config) -> None:
    """Log records made once a secret is known carry it masked: live logs (``log_cli``),
    ``caplog`` and the captured-log sections all print the record's message."""
    import logging  # noqa: PLC0415 - pytest has imported it already

    make = logging.getLogRecordFactory()

    def masked(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        if redact.known():
            with contextlib.suppress(Exception):  # a message that cannot be made stays as is
                message = record.getMessage()
                if (scrubbed := redact.scrub(message)) != message:
                    record.msg, record.args = scrubbed, None
        return record

    logging.setLogRecordFactory(masked)
    config.add_cleanup(lambda: logging.setLogRecordFactory(make))


def _guarded(step: Callable[[], object]) -> str | None:
    """Run a step of the token path; None when it went well, else the one line to show.

    This is the boundary of the secret path: whatever goes wrong below, the person gets one
    line, no traceback, and no frame holding a token (the original exception is dropped).
    """
    try:
        step()
    except LiveChatTokenError as error:
        return str(error)
    except Exception as error:  # anything else is a bug of ours: still one line, no token
        return (
            f"pytest-livechat-token failed unexpectedly ({type(error).__name__}) while getting a "
            "LiveChat token. Please report it (the message holds no token); "
            f"meanwhile set {TOKEN_ENV}."
        )
    return None


def _timeout_note(config: pytest.Config) -> str:
    """What to do when pytest-timeout's thread method would stop a test during the login: its
    ``signal`` method is paused while the person answers (``terminal.alarm_paused``), this one
    cannot be."""
    if not config.pluginmanager.hasplugin("timeout"):
        return ""
    method = config.getoption("timeout_method", None) or config.getini("timeout_method")
    seconds = config.getoption("timeout", None) or config.getini("timeout")
    try:
        limit = float(seconds or 0)
    except ValueError:
        return ""
    if method != "thread" or limit <= 0:
        return ""
    return (
        f"pytest-timeout (thread method) stops a test after {limit:g} s, and the time spent "
        "here counts: if it stops this one, run `livechat-token login` (same settings), "
        "then pytest again."
    )


def _source(config: pytest.Config, wording: Wording = WORDING) -> TokenSource:
    """This process's token source, made when first needed."""
    if SOURCE not in config.stash:
        if note := _timeout_note(config):
            wording = Wording(wording.flags, wording.log_in_first, note)
        from .obtain import TokenSource  # noqa: PLC0415 - off the start-up path

        process = config.stash[PROCESS]
        config.stash[SOURCE] = TokenSource(
            config.stash[SETTINGS],
            os.environ,
            interactive=process.interactive,
            who=_worker_label(),
            handed=process.handed,
            wording=wording,
            notify=lambda message: _notice(config, message),
        )
    return config.stash[SOURCE]


def _customer_source(config: pytest.Config) -> CustomerSource:
    """This process's customers, made with the default account's token."""
    if CUSTOMERS not in config.stash:
        from .customers import CustomerSource  # noqa: PLC0415 - off the start-up path

        handed = config.stash[PROCESS].handed or {}
        customers = handed.get("customers")
        config.stash[CUSTOMERS] = CustomerSource(
            _source(config), customers if isinstance(customers, dict) else None
        )
    return config.stash[CUSTOMERS]


def _notice(config: pytest.Config, message: str) -> None:
    """A notice of the token source where no terminal is open for it (the xdist controller)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"livechat: {message}")


class XdistHandOff:
    """Hands each xdist worker the controller's settings and, when it has one, its token.

    So workers on hosts that share no disk with the controller need no prompt of their own.
    """

    def __init__(self, config: pytest.Config) -> None:
        self._config = config
        self._payload: HandOff | None = None

    def pytest_configure_node(self, node: Any) -> None:
        if self._payload is None:
            self._payload = self._make_payload()
        node.workerinput[HAND_OFF] = self._payload

    def _make_payload(self) -> HandOff:
        source = _source(self._config)
        payload: HandOff = {
            "settings": source.settings.handed_to_workers(),
            "interactive": source.interactive,
        }
        names = [source.account]
        _guarded(lambda: names.extend(source.accounts()))
        accounts: dict[str, HandedToken] = {}
        for name in sorted(set(names)):
            _guarded(partial(self._hand, source, name, accounts))
        payload["accounts"] = accounts
        customers: dict[str, HandedCustomer] = {}
        _guarded(lambda: customers.update(self._customers()))
        payload["customers"] = customers
        return payload

    def _customers(self) -> dict[str, HandedCustomer]:
        """Every cached customer of the client that is fresh (none is fetched for the hand-off)."""
        from .customers import handed_customer  # noqa: PLC0415

        source = _customer_source(self._config)
        agent = source.agent
        found: dict[str, HandedCustomer] = {}
        ours = (agent.settings.accounts_url, agent.client_id)
        for url, client, name in agent.cache.customers():
            if (url, client) == ours and (token := source.cached(name)) is not None:
                found[name] = handed_customer(token)
        return found

    @staticmethod
    def _hand(source: TokenSource, name: str, accounts: dict[str, HandedToken]) -> None:
        from .obtain import handed_token  # noqa: PLC0415 - loaded with the token source

        named = source.named(name)
        if (token := named.cached() or named.renewed()) is not None:
            accounts[name] = handed_token(token)


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines: list[str] = []
    _guarded(lambda: lines.extend(_header(config)))
    return lines or ["livechat: the token cache could not be read (see the warnings)"]


def _header(config: pytest.Config) -> list[str]:
    settings = config.stash[SETTINGS]
    # The answers most runs get, found without importing the token source:
    from_env = list(env_tokens(os.environ))
    env_line = [f"livechat: using the token in {', '.join(from_env)}"] if from_env else []
    pat = config.stash[PROCESS].pat
    if pat is not None:
        env_line.append(
            f"livechat: livechat_api uses the Personal Access Token in {PAT_ENV} (account "
            f"{printable(shorten(pat.account_id))}); livechat_bearer still needs a token"
        )
    if settings.client_id is None:
        return env_line or [
            "livechat: no client id configured (--livechat-client-id or LIVECHAT_CLIENT_ID)"
        ]
    source = _source(config)
    entries = source.cache.entries()  # read once for every account's line
    others = [name for name in source.accounts(entries) if name != source.account]
    if env_token(os.environ, settings.account) is not None and not others:
        return env_line
    head = f"livechat: client {printable(shorten(settings.client_id))}"
    status = source.status(entries)
    lines = [*env_line]
    if status.source != "environment":
        lines.append(_account_line(source, status, head))
    if len(others) + 1 > MAX_HEADER_ACCOUNTS:
        fresh = sum(source.named(name).status(entries).source == "cache" for name in others)
        listed = ", ".join(others[:5]) + (", …" if len(others) > 5 else "")
        lines.append(
            f"{head}, {len(others)} more accounts cached ({listed}): {fresh} with a token "
            "for this run; livechat-token status lists them"
        )
    else:
        for name in others:
            named = source.named(name)
            if (its := named.status(entries)).source != "environment":
                lines.append(_account_line(named, its, head))
    if status.lifetime is not None and 0 < status.lifetime < settings.min_ttl:
        lines.append(
            f"livechat: the server issues tokens for {describe_duration(status.lifetime)}, less "
            f"than --livechat-min-ttl ({describe_duration(settings.min_ttl)}): a token is "
            "renewed at most once a run and then used while it lasts"
        )
    return lines


MAX_HEADER_ACCOUNTS = 3
"""More accounts than this, and the header sums up all but the default one."""


def _account_line(source: TokenSource, status: Status, head: str) -> str:
    """One account's line of the report header."""
    if source.account != DEFAULT_ACCOUNT or source.account != source.settings.account:
        head = f"{head}, account {source.account!r}"
    if status.source in ("cache", "controller") and status.expires_at is not None:
        left = describe_duration(seconds_left(status.expires_at, utcnow()))
        renewal = ", then renewed silently" if status.refresh_token else ""
        return f"{head}, token cached, {left} left{renewal}"
    if status.source == "renewal":
        return f"{head}, cached token expiring: it will be renewed silently when a test needs it"
    if source.interactive:
        return f"{head}, no valid token cached (a test that needs one will ask you to log in)"
    return (
        f"{head}, no valid token cached and no terminal to log in from: tests that need "
        f"one will error (set {source.token_env}, or run once in a terminal)"
    )


@pytest.fixture(scope="session")
def livechat_bearer_for(pytestconfig: pytest.Config) -> Callable[[str], BearerToken]:
    """A function of an account name that returns a valid LiveChat bearer token of the user
    the tests call by that name (``livechat_bearer_for("supervisor")``): each name is its own
    LiveChat user, cached and logged in like ``livechat_bearer``, at most once a run."""
    return _by_name(
        "livechat_bearer_for",
        "an account",
        pytestconfig.stash[TOKENS],
        lambda name: _source(pytestconfig).named(name).token(),
    )


@pytest.fixture(scope="session")
def livechat_bearer(
    livechat_bearer_for: Callable[[str], BearerToken], pytestconfig: pytest.Config
) -> BearerToken:
    """A valid LiveChat bearer token of the default account (``--livechat-account``, else
    ``default``): from the environment, the cache, or a guided login."""
    return livechat_bearer_for(pytestconfig.stash[SETTINGS].account)


_T = TypeVar("_T")


def _by_name(
    fixture: str, what: str, obtained: dict[str, _T], get: Callable[[str], _T]
) -> Callable[[str], _T]:
    """What a ``*_for`` fixture returns: a function of a name that gives ``get(name)``, once a
    run for each name (kept in ``obtained``), through ``_named``."""

    def of(name: str) -> _T:
        if name not in obtained:
            obtained[name] = _named(fixture, what, name, lambda: get(name))
        return obtained[name]

    return of


def _named(fixture: str, what: str, name: object, get: Callable[[], _T]) -> _T:
    """What ``get`` returns for a name, or the test fails with one line: a name that breaks
    the rule, or anything that goes wrong on the way (``_guarded``). It is skipped instead
    when what is missing is a setting (no client id) or a scope."""
    from .errors import MissingScope  # noqa: PLC0415 - off the start-up path
    from .obtain import NotConfigured  # noqa: PLC0415

    if not isinstance(name, str) or not is_account_name(name):
        pytest.fail(
            f"{fixture}({printable(repr(name), 60)}): {what} name must match {ACCOUNT_RULE} "
            "(lower-case letters, digits, _ and -; at most 32).",
            pytrace=False,
        )
    found: list[_T] = []
    skipped: str | None = None

    def obtain() -> None:
        nonlocal skipped
        try:
            found.append(get())
        except (NotConfigured, MissingScope) as error:
            skipped = str(error)

    failed = _guarded(obtain)
    # Outside any except block, so that pytest shows our message alone, with no chain.
    if skipped is not None:
        pytest.skip(skipped)
    if failed is not None or not found:
        pytest.fail(failed or f"no LiveChat token for {name!r}", pytrace=False)
    return found[0]


@pytest.fixture(scope="session")
def livechat_api(
    pytestconfig: pytest.Config, request: pytest.FixtureRequest
) -> Iterator[httpx.Client]:
    """An ``httpx.Client`` for the LiveChat API that sends the default account's bearer token,
    or the Personal Access Token of ``LIVECHAT_PAT`` when it is set (then no login is asked);
    closed at the end."""
    from .api import api_client, pat_client  # noqa: PLC0415 - imports httpx

    api_url = pytestconfig.stash[SETTINGS].api_url
    pat = pytestconfig.stash[PROCESS].pat
    if pat is not None:
        client = pat_client(api_url, pat)
    else:
        client = api_client(api_url, request.getfixturevalue("livechat_bearer"))
    with client:
        yield client


@pytest.fixture(scope="session")
def livechat_customer_for(pytestconfig: pytest.Config) -> Callable[[str], CustomerToken]:
    """A function of a customer name that returns a LiveChat customer token (Customer Chat API)
    for that customer: made from the default account's token with the agent token grant the
    first time, the same customer (entity id) in later runs."""
    obtained: dict[str, CustomerToken] = {}
    return _by_name(
        "livechat_customer_for",
        "a customer",
        obtained,
        lambda name: _customer_source(pytestconfig).token(name),
    )


@pytest.fixture(scope="session")
def livechat_customer(livechat_customer_for: Callable[[str], CustomerToken]) -> CustomerToken:
    """The customer token of the customer ``default``."""
    return livechat_customer_for("default")


@pytest.fixture(scope="session")
def livechat_customer_api(
    livechat_customer: CustomerToken, pytestconfig: pytest.Config
) -> Iterator[httpx.Client]:
    """An ``httpx.Client`` for the Customer Chat API as the customer ``default``:
    ``livechat_customer_api.post("start_chat", json={...})`` posts to
    ``<api url>customer/action/start_chat?organization_id=...``; closed at the end."""
    from .api import customer_client  # noqa: PLC0415 - imports httpx

    if livechat_customer.organization_id is None:
        pytest.fail(
            "the LiveChat customer token came without an organization id, which every "
            "Customer Chat API call needs",
            pytrace=False,
        )
    api_url = pytestconfig.stash[SETTINGS].api_url
    with customer_client(api_url, livechat_customer) as client:
        yield client


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    yield
    marker = item.get_closest_marker("livechat_scopes")
    if marker is None:
        return
    token = getattr(item, "funcargs", {}).get("livechat_bearer")
    if token is None and "livechat_api" in getattr(item, "fixturenames", ()):
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
    from .scopes import missing_scopes  # noqa: PLC0415 - only marked tests need it

    missing = missing_scopes(marker.args, token.scope)
    if missing:
        pytest.skip(
            f"the LiveChat token lacks the scope(s) {', '.join(missing)}: add them in the app's "
            "App Authorization block, then log in again (pytest --livechat-login)"
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if redact.known():
        from .reports import scrub_report  # noqa: PLC0415 - only once a secret is known

        scrub_report(report)
    return report


def pytest_assertrepr_compare(op: str, left: object, right: object) -> list[str] | None:
    """A failed comparison that involves a secret shows neither side (pytest would print a
    diff, which can show a part of a token that no mask finds afterwards)."""
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
