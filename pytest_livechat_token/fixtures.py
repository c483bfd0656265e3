"""The plugin's fixtures (imported by ``plugin``, as pytest-django does). Each gets what it
needs from the run (``_plugin.stash.run_of``) when a test first asks for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

import pytest

from ._base.errors import printable
from ._base.settings import ACCOUNT_RULE, is_account_name
from ._plugin.stash import (
    BOT_TOKENS,
    CUSTOMER_TOKENS,
    IDENTITIES,
    PROCESS,
    SETTINGS,
    TOKENS,
    cleanup_of,
    guarded,
    replaying,
    run_of,
)

if TYPE_CHECKING:
    import httpx

    from ._api.transport import OnChat
    from ._base.bearer import BearerToken, BotToken, CustomerToken
    from ._base.pat import PersonalAccessToken
    from ._rtm.session import AsyncRtm, Rtm

_T = TypeVar("_T")


def bearer_for(config: pytest.Config) -> Callable[[str], BearerToken]:
    """What ``livechat_bearer_for`` returns (also for the ``livechat_accounts`` marker)."""
    from ._plugin import standins

    def get(name: str) -> BearerToken:
        from ._core.obtain import source_of  # the core, when a token is first needed

        return _noted(config, source_of(run_of(config), name).token())

    replay = standins.bearer if replaying(config) else get
    return _by_name(config, "livechat_bearer_for", "an account", config.stash[TOKENS], replay)


def customer_for(config: pytest.Config) -> Callable[[str], CustomerToken]:
    """What ``livechat_customer_for`` returns (also for the ``livechat_customers`` marker)."""
    from ._plugin import standins

    def get(name: str) -> CustomerToken:
        from ._core.customers import CustomerSource  # the core, when a customer is first needed

        return _noted(config, CustomerSource(run_of(config)).token(name))

    replay = standins.customer if replaying(config) else get
    stash = config.stash[CUSTOMER_TOKENS]
    return _by_name(config, "livechat_customer_for", "a customer", stash, replay)


def bot_for(config: pytest.Config) -> Callable[[str], BotToken]:
    """What ``livechat_bot_for`` returns."""
    from ._plugin import standins

    def get(name: str) -> BotToken:
        from ._core.bots import BotSource  # the core, when a bot is first needed

        return _noted(config, BotSource(run_of(config)).token(name))

    replay = standins.bot if replaying(config) else get
    return _by_name(config, "livechat_bot_for", "a bot", config.stash[BOT_TOKENS], replay)


_Token = TypeVar("_Token", "BearerToken", "CustomerToken", "BotToken")


def _noted(config: pytest.Config, token: _Token) -> _Token:
    """``token``, its identities noted for the cassettes recorded in this run (``standins``)."""
    from ._plugin.standins import identities

    config.stash[IDENTITIES].update(identities(token))
    return token


@pytest.fixture(scope="session")
def livechat_bearer_for(pytestconfig: pytest.Config) -> Callable[[str], BearerToken]:
    """A function of an account name that returns a valid LiveChat bearer token of the user
    the tests call by that name (``livechat_bearer_for("supervisor")``): each name is its own
    LiveChat user, cached and logged in like ``livechat_bearer``, at most once a run."""
    return bearer_for(pytestconfig)


@pytest.fixture(scope="session")
def livechat_bearer(
    livechat_bearer_for: Callable[[str], BearerToken], pytestconfig: pytest.Config
) -> BearerToken:
    """A valid LiveChat bearer token of the default account (``--livechat-account``, else
    ``default``): from the environment, the cache, or a guided login."""
    return livechat_bearer_for(pytestconfig.stash[SETTINGS].account)


@pytest.fixture(scope="session")
def livechat_api_url(pytestconfig: pytest.Config) -> str:
    """The configured base URL of the LiveChat API (``--livechat-api-url``), ending in ``/``:
    for a client of your own."""
    return pytestconfig.stash[SETTINGS].api_url


@pytest.fixture(scope="session")
def livechat_api(
    pytestconfig: pytest.Config, request: pytest.FixtureRequest
) -> Iterator[httpx.Client]:
    """An ``httpx.Client`` for the LiveChat API that sends the default account's bearer token,
    or the Personal Access Token of ``LIVECHAT_PAT`` when it is set (then no login is asked);
    closed at the end."""
    from ._api.clients import api_client  # imports httpx

    credential = _credential(request)
    api_url = pytestconfig.stash[SETTINGS].api_url
    with api_client(api_url, credential, _on_chat(pytestconfig, credential)) as client:
        yield client


@pytest.fixture
def livechat_async_api(
    pytestconfig: pytest.Config, request: pytest.FixtureRequest
) -> Iterator[httpx.AsyncClient]:
    """``livechat_api``'s async twin: an ``httpx.AsyncClient`` with the same base URL, headers,
    timeout and credential. One a test: its connections are reused from request to request
    and closed when the test ends; it is bound to no event loop, so it works under
    pytest-asyncio's and anyio's loops of any scope."""
    from ._api.clients import async_api_client  # imports httpx

    credential = _credential(request)
    api_url = pytestconfig.stash[SETTINGS].api_url
    with async_api_client(api_url, credential, _on_chat(pytestconfig, credential)) as client:
        yield client


def _on_chat(
    config: pytest.Config, credential: BearerToken | CustomerToken | BotToken | PersonalAccessToken
) -> OnChat | None:
    """What a client of ``credential`` tells of its chats: the chat cleanup's watcher (None
    when the cleanup is off)."""
    cleanup = cleanup_of(config)
    return cleanup.watcher_of(credential) if cleanup is not None else None


def _credential(request: pytest.FixtureRequest) -> BearerToken | PersonalAccessToken:
    """``LIVECHAT_PAT``'s token when it is set (no login), else ``livechat_bearer``; a replay
    of recordings takes the stand-in."""
    pat = request.config.stash[PROCESS].pat
    if pat is not None and not replaying(request.config):
        return pat
    token: BearerToken = request.getfixturevalue("livechat_bearer")
    return token


@pytest.fixture(scope="session")
def livechat_customer_for(pytestconfig: pytest.Config) -> Callable[[str], CustomerToken]:
    """A function of a customer name that returns a LiveChat customer token (Customer Chat API)
    for that customer: made from the default account's token with the agent token grant the
    first time, the same customer (entity id) in later runs."""
    return customer_for(pytestconfig)


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
    from ._api.clients import customer_client  # imports httpx

    _organized(livechat_customer)
    api_url = pytestconfig.stash[SETTINGS].api_url
    watch = _on_chat(pytestconfig, livechat_customer)
    with customer_client(api_url, livechat_customer, watch) as client:
        yield client


@pytest.fixture
def livechat_customer_async_api(
    livechat_customer: CustomerToken, pytestconfig: pytest.Config
) -> Iterator[httpx.AsyncClient]:
    """``livechat_customer_api``'s async twin (one a test, as ``livechat_async_api``)."""
    from ._api.clients import async_customer_client  # imports httpx

    _organized(livechat_customer)
    api_url = pytestconfig.stash[SETTINGS].api_url
    watch = _on_chat(pytestconfig, livechat_customer)
    with async_customer_client(api_url, livechat_customer, watch) as client:
        yield client


@pytest.fixture(scope="session")
def livechat_bot_for(pytestconfig: pytest.Config) -> Callable[[str], BotToken]:
    """A function of a bot name that returns a token of the LiveChat bot the tests call by
    that name (``livechat_bot_for("greeter")``): the bot is made the first time, with the
    default account's token (or ``LIVECHAT_PAT``), and is the same bot in every later run; its
    token (valid 24 hours) is issued when none with min-ttl is cached."""
    return bot_for(pytestconfig)


@pytest.fixture(scope="session")
def livechat_bot_api_for(
    livechat_bot_for: Callable[[str], BotToken], pytestconfig: pytest.Config
) -> Iterator[Callable[[str], httpx.Client]]:
    """A function of a bot name that returns an ``httpx.Client`` for the LiveChat API acting
    as that bot (``livechat_bot_api_for("greeter").post("agent/action/set_routing_status",
    ...)``): the base URL, timeout and retries of ``livechat_api``, one client a bot, closed
    at the end."""
    from ._api.clients import api_client  # imports httpx

    clients: dict[str, httpx.Client] = {}

    def of(name: str) -> httpx.Client:
        if name not in clients:
            token = livechat_bot_for(name)
            api_url = pytestconfig.stash[SETTINGS].api_url
            clients[name] = api_client(api_url, token, _on_chat(pytestconfig, token))
        return clients[name]

    yield of
    for client in clients.values():
        client.close()


def _organized(customer: CustomerToken) -> None:
    if customer.organization_id is None:
        pytest.fail(
            "the LiveChat customer token came without an organization id, which every "
            "Customer Chat API call needs",
            pytrace=False,
        )


def _by_name(
    config: pytest.Config,
    fixture: str,
    what: str,
    obtained: dict[str, _T],
    get: Callable[[str], _T],
) -> Callable[[str], _T]:
    """What a ``*_for`` fixture returns: a function of a name that gives ``get(name)``, once a
    run for each name (kept in ``obtained``), through ``_named``."""
    required = config.stash[SETTINGS].require

    def of(name: str) -> _T:
        if name not in obtained:
            obtained[name] = _named(fixture, what, name, lambda: get(name), required=required)
        return obtained[name]

    return of


def _named(
    fixture: str, what: str, name: object, get: Callable[[], _T], *, required: bool = False
) -> _T:
    """What ``get`` returns for a name, or the test fails with one line: a name that breaks
    the rule, or anything that goes wrong on the way (``_plugin.stash.guarded``). It is skipped
    instead when what is missing is a setting (no client id) or a scope."""
    from ._base.errors import LoginCancelled, MissingScope, NotConfigured  # off start-up

    if not isinstance(name, str) or not is_account_name(name):
        pytest.fail(
            f"{fixture}({printable(repr(name), 60)}): {what} name must match {ACCOUNT_RULE} "
            "(lower-case letters, digits, _ and -; at most 32).",
            pytrace=False,
        )
    found: list[_T] = []
    skipped: list[str] = []
    unconfigured: list[str] = []
    cancelled: list[str] = []

    def obtain() -> None:
        try:
            found.append(get())
        except NotConfigured as error:
            unconfigured.append(str(error))
        except MissingScope as error:
            skipped.append(str(error))
        except LoginCancelled as error:
            cancelled.append(str(error))

    failed = guarded(obtain)
    if cancelled:  # Ctrl-C at the prompt stops the run, as Ctrl-C does anywhere else
        pytest.exit(cancelled[0], returncode=pytest.ExitCode.INTERRUPTED)
    # Outside any except block, so that pytest shows our message alone, with no chain.
    if unconfigured and required:
        pytest.fail(
            f"{unconfigured[0]} (--livechat-require: a test that needs one fails)", pytrace=False
        )
    if skipped or unconfigured:
        pytest.skip((skipped or unconfigured)[0])
    if failed is not None:
        pytest.fail(failed, pytrace=False)
    return found[0]


@pytest.fixture
def livechat_rtm_for(request: pytest.FixtureRequest) -> Iterator[Callable[[str], Rtm]]:
    """A function of an account name that returns a logged-in Agent Chat RTM session of that
    account (``livechat_bearer_for(name)``'s token), one a test, closed at its teardown."""
    from ._plugin.rtm_sessions import Sessions  # only when a test uses RTM

    sessions = Sessions(request, "agent")
    yield sessions.of
    sessions.close()


@pytest.fixture
def livechat_rtm(livechat_rtm_for: Callable[[str], Rtm], pytestconfig: pytest.Config) -> Rtm:
    """A logged-in Agent Chat RTM session of the default account, for one test:
    ``livechat_rtm.request("list_chats")``, ``livechat_rtm.wait_for("incoming_event")``."""
    return livechat_rtm_for(pytestconfig.stash[SETTINGS].account)


@pytest.fixture
def livechat_customer_rtm_for(request: pytest.FixtureRequest) -> Iterator[Callable[[str], Rtm]]:
    """A function of a customer name that returns a logged-in Customer Chat RTM session of
    that customer (``livechat_customer_for(name)``'s token), one a test."""
    from ._plugin.rtm_sessions import Sessions

    sessions = Sessions(request, "customer")
    yield sessions.of
    sessions.close()


@pytest.fixture
def livechat_customer_rtm(livechat_customer_rtm_for: Callable[[str], Rtm]) -> Rtm:
    """A logged-in Customer Chat RTM session of the customer ``default``, for one test."""
    return livechat_customer_rtm_for("default")


@pytest.fixture
def livechat_async_rtm(livechat_rtm: Rtm) -> AsyncRtm:
    """``livechat_rtm``, async: ``await livechat_async_rtm.request("list_chats")``. It waits
    off the event loop, so it works under pytest-asyncio's and anyio's (asyncio) loops."""
    return livechat_rtm.aio


@pytest.fixture
def livechat_customer_async_rtm(livechat_customer_rtm: Rtm) -> AsyncRtm:
    """``livechat_customer_rtm``, async."""
    return livechat_customer_rtm.aio
