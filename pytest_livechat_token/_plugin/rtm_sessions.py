"""The RTM sessions of one test, behind the RTM fixtures (``fixtures`` imports this module when
one is used, not at start-up): a logged-in session of an agent or a customer, closed at the
test's teardown.

One connection a test, not a run: LiveChat pushes what happened to everyone of the
organization, so a session shared by tests would hand one test the pushes of another. A login
costs one round trip on a connection that is opened anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from .._base.errors import LiveChatTokenError
from .stash import SETTINGS, cleanup_of, guarded, run_of

if TYPE_CHECKING:
    from .._rtm.frames import Who
    from .._rtm.session import Rtm, Token


class Sessions:
    """The sessions of one test, by name, opened when first asked for."""

    def __init__(self, request: pytest.FixtureRequest, who: Who) -> None:
        self.request, self.who = request, who
        self.opened: dict[str, Rtm] = {}

    def of(self, name: str) -> Rtm:
        from .._base.bearer import BotToken

        if isinstance(name, BotToken):
            pytest.fail(
                f"a LiveChat bot has no RTM connection (LiveChat: bots cannot open one): there "
                f"is no RTM session for the bot {name.name!r}; call the Web API as the bot with "
                "livechat_bot_api_for(name)",
                pytrace=False,
            )
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

        marker = request.node.get_closest_marker("livechat_rtm_login")
        given = marker.kwargs.get(who, {}) if marker is not None else {}

        def connect() -> None:
            from .._rtm.frames import login_options, rtm_url
            from .._rtm.session import open_session  # imports websockets

            options = login_options(who, given)
            url = rtm_url(settings.api_url, who, _organization(config, token))
            session, _ = open_session(
                url,
                token,
                who=who,
                renew=_renewer(config, who, name),
                min_ttl=settings.min_ttl,
                login_options=options,
            )
            found.append(session)

        failed = guarded(connect)
        if failed is not None:
            pytest.fail(failed, pytrace=False)
        cleanup = cleanup_of(config)
        if cleanup is not None:  # its chats are deactivated as the Web APIs' are
            found[0].on_chat = cleanup.watcher_of(token)
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
    from .._auth.oauth import token_info
    from .._base.bearer import BearerToken
    from .._rtm.frames import RtmUnavailable

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
        from .._core.customers import CustomerSource
        from .._core.obtain import source_of

        run = run_of(config)
        if who == "agent":
            return source_of(run, name).renewed()
        try:
            return CustomerSource(run).token(name)
        except LiveChatTokenError:
            return None

    return renew
