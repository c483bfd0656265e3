"""The plugin's fixtures (imported by ``plugin``, as pytest-django does). Each gets what it
needs from the run (``session.run_of``) when a test first asks for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

import pytest

from .errors import printable
from .session import PROCESS, SETTINGS, TOKENS, guarded, run_of
from .settings import ACCOUNT_RULE, is_account_name

if TYPE_CHECKING:
    import httpx

    from .bearer import BearerToken, CustomerToken

_T = TypeVar("_T")


@pytest.fixture(scope="session")
def livechat_bearer_for(pytestconfig: pytest.Config) -> Callable[[str], BearerToken]:
    """A function of an account name that returns a valid LiveChat bearer token of the user
    the tests call by that name (``livechat_bearer_for("supervisor")``): each name is its own
    LiveChat user, cached and logged in like ``livechat_bearer``, at most once a run."""
    return _by_name(
        pytestconfig,
        "livechat_bearer_for",
        "an account",
        pytestconfig.stash[TOKENS],
        lambda name: run_of(pytestconfig).account(name).token(),
    )


@pytest.fixture(scope="session")
def livechat_bearer(
    livechat_bearer_for: Callable[[str], BearerToken], pytestconfig: pytest.Config
) -> BearerToken:
    """A valid LiveChat bearer token of the default account (``--livechat-account``, else
    ``default``): from the environment, the cache, or a guided login."""
    return livechat_bearer_for(pytestconfig.stash[SETTINGS].account)


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

    def customer(name: str) -> CustomerToken:
        return run_of(pytestconfig).customers.token(name)

    return _by_name(pytestconfig, "livechat_customer_for", "a customer", obtained, customer)


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
    the rule, or anything that goes wrong on the way (``session.guarded``). It is skipped
    instead when what is missing is a setting (no client id) or a scope."""
    from .errors import MissingScope, NotConfigured  # noqa: PLC0415 - off the start-up path

    if not isinstance(name, str) or not is_account_name(name):
        pytest.fail(
            f"{fixture}({printable(repr(name), 60)}): {what} name must match {ACCOUNT_RULE} "
            "(lower-case letters, digits, _ and -; at most 32).",
            pytrace=False,
        )
    found: list[_T] = []
    skipped: list[str] = []
    unconfigured: list[str] = []

    def obtain() -> None:
        try:
            found.append(get())
        except NotConfigured as error:
            unconfigured.append(str(error))
        except MissingScope as error:
            skipped.append(str(error))

    failed = guarded(obtain)
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
