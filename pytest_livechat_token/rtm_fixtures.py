"""The RTM fixtures (imported by ``plugin``, as ``fixtures`` is): a logged-in RTM session of an
agent or a customer for one test, closed at its teardown.

One connection a test, not a run: LiveChat pushes what happened to everyone of the
organization, so a session shared by tests would hand one test the pushes of another. A login
costs one round trip on a connection that is opened anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from .errors import LiveChatTokenError
from .session import SETTINGS, guarded, run_of

if TYPE_CHECKING:
    from .rtm import AsyncRtm, Rtm, Token
    from .rtm_frames import Who


class _Sessions:
    """The sessions of one test, by name, opened when first asked for."""

    def __init__(self, request: pytest.FixtureRequest, who: Who) -> None:
        self.request, self.who = request, who
        self.opened: dict[str, Rtm] = {}

    def of(self, name: str) -> Rtm:
        if name not in self.opened:
            self.opened[name] = self._open(name)
        return self.opened[name]

    def close(self) -> None:
        for session in self.opened.values():
            session.close()

    def _open(self, name: str) -> Rtm:
        request, who = self.request, self.who
        fixture = "livechat_bearer_for" if who == "agent" else "livechat_customer_for"
        token: Token = request.getfixturevalue(fixture)(name)
        config = request.config
        settings = config.stash[SETTINGS]
        found: list[Rtm] = []

        def connect() -> None:
            from .rtm import open_session  # noqa: PLC0415 - imports websockets
            from .rtm_frames import rtm_url  # noqa: PLC0415

            url = rtm_url(settings.api_url, who, _organization(config, token))
            session, _ = open_session(
                url, token, who=who, renew=_renewer(config, who, name), min_ttl=settings.min_ttl
            )
            found.append(session)

        failed = guarded(connect)
        if failed is not None:
            pytest.fail(failed, pytrace=False)
        return found[0]


_ORGANIZATIONS = pytest.StashKey[dict[str, str]]()
"""The organizations learnt from ``/v2/info`` in this run, by token: asked once a token."""


def _organization(config: pytest.Config, token: Token) -> str:
    """The organization the RTM endpoint needs: the token's (from ``/v2/info`` at login, or
    the customer token's answer), else asked of ``/v2/info`` now (an environment token)."""
    if token.organization_id:
        return token.organization_id
    learnt = config.stash.setdefault(_ORGANIZATIONS, {})
    if str(token) in learnt:
        return learnt[str(token)]
    from .bearer import BearerToken  # noqa: PLC0415
    from .oauth import token_info  # noqa: PLC0415
    from .rtm_frames import RtmUnavailable  # noqa: PLC0415

    info = None
    if isinstance(token, BearerToken):
        info = token_info(config.stash[SETTINGS].accounts_url, str(token))
    if info is None or not info.organization_id:
        raise RtmUnavailable(
            "the LiveChat token names no organization, which the RTM endpoint needs "
            "(?organization_id=): the accounts server's /v2/info gave none for it."
        )
    learnt[str(token)] = info.organization_id
    return info.organization_id


def _renewer(config: pytest.Config, who: Who, name: str) -> Callable[[], Token | None]:
    """A silent renewal of the session's token (never a prompt, never an error)."""

    def renew() -> Token | None:
        run = run_of(config)
        if who == "agent":
            return run.account(name).renewed()
        try:
            return run.customers.token(name)
        except LiveChatTokenError:
            return None

    return renew


@pytest.fixture
def livechat_rtm_for(request: pytest.FixtureRequest) -> Iterator[Callable[[str], Rtm]]:
    """A function of an account name that returns a logged-in Agent Chat RTM session of that
    account (``livechat_bearer_for(name)``'s token), one a test, closed at its teardown."""
    sessions = _Sessions(request, "agent")
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
    sessions = _Sessions(request, "customer")
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
