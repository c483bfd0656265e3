"""RTM sessions (``rtm``), in-process against the real test RTM server over a real WebSocket."""

from __future__ import annotations

import asyncio
import logging
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pytest_livechat_token import RtmError
from pytest_livechat_token._base.bearer import BearerToken, CustomerToken, utcnow
from pytest_livechat_token._rtm.frames import RtmUnavailable, rtm_url
from pytest_livechat_token._rtm.session import Rtm, open_session

from ...support.accounts_server import AccountsServer
from ...support.helpers import refusing_port
from ...support.rtm_server import RtmServer


@pytest.fixture
def sessions() -> Iterator[list[Rtm]]:
    opened: list[Rtm] = []
    yield opened
    for session in opened:
        session.close()


def agent(
    rtm_server: RtmServer,
    sessions: list[Rtm],
    token: BearerToken | None = None,
    organization: str = "org-1",
    **options: object,
) -> Rtm:
    token = token or BearerToken(rtm_server.accounts.issue())
    url = rtm_url(rtm_server.url, "agent", organization)
    session, state = open_session(url, token, who="agent", **options)  # type: ignore[arg-type]
    sessions.append(session)
    assert "my_profile" in state
    return session


def customer(
    rtm_server: RtmServer,
    sessions: list[Rtm],
    expires_at: datetime | None = None,
    **options: object,
) -> Rtm:
    accounts = rtm_server.accounts
    token = f"dal:cust-{len(accounts.customer_tokens)}-token-value"
    accounts.customer_tokens[token] = f"entity-{len(accounts.customer_tokens)}"
    url = rtm_url(rtm_server.url, "customer", "org-1")
    made = CustomerToken(token, entity_id="e", expires_at=expires_at)
    session, state = open_session(url, made, who="customer", **options)  # type: ignore[arg-type]
    sessions.append(session)
    assert "customer_id" in state
    return session


def test_login_and_a_request(rtm_server: RtmServer, sessions: list[Rtm]) -> None:
    rtm = agent(rtm_server, sessions)
    assert rtm.request("list_chats") == {"chats_summary": [], "found_chats": 0}
    (login, listed) = [seen for seen in rtm_server.seen if seen[1] != "ping"]
    assert login[1] == "login"
    assert login[3]["token"].startswith("Bearer dal:")
    assert listed[1:3] == ("list_chats", "plt-2"), "the request_id is ours and echoed"


@pytest.mark.parametrize("version", ["3.5", "3.6", "3.7"])
def test_the_rtm_url_follows_the_api_version(
    rtm_server: RtmServer, sessions: list[Rtm], version: str
) -> None:
    """``--livechat-api-url`` naming v3.7 (the developer preview) or v3.5 (legacy) opens
    ``.../v3.7/agent/rtm/ws``, which the test server plays as it plays v3.6."""
    url = rtm_server.url.replace("/v3.6/", f"/v{version}/")
    assert rtm_url(url, "agent", "org-1").split("?")[0].endswith(f"/v{version}/agent/rtm/ws")
    session, _ = open_session(
        rtm_url(url, "agent", "org-1"), BearerToken(rtm_server.accounts.issue()), who="agent"
    )
    sessions.append(session)
    assert rtm_server.versions == [version]


def test_a_refused_request_raises_rtm_error(rtm_server: RtmServer, sessions: list[Rtm]) -> None:
    rtm = agent(rtm_server, sessions)
    with pytest.raises(RtmError) as raised:
        rtm.request("send_event", {"chat_id": "nope", "event": {"type": "message"}})
    assert (raised.value.type, raised.value.message) == ("not_found", "Chat not found")


@pytest.mark.parametrize("case", ["unknown", "revoked"])
def test_a_wrong_or_revoked_token_is_one_line(
    rtm_server: RtmServer, sessions: list[Rtm], case: str
) -> None:
    token = rtm_server.accounts.issue()
    if case == "revoked":
        rtm_server.accounts.tokens[token].revoked = True
    else:
        token = "dal:never-issued-token-value"
    with pytest.raises(RtmUnavailable) as raised:
        agent(rtm_server, sessions, BearerToken(token))
    message = str(raised.value)
    assert message == (
        "LiveChat RTM refused the agent login (authentication: Invalid access token). The token "
        "is expired or revoked: log in again (pytest --livechat-login)."
    )
    assert token not in message


def test_another_organization_is_refused(rtm_server: RtmServer, sessions: list[Rtm]) -> None:
    with pytest.raises(RtmUnavailable, match=r"\(authorization: Wrong organization\)"):
        agent(rtm_server, sessions, organization="org-2")


def test_a_refused_connection_is_one_line(sessions: list[Rtm]) -> None:
    with refusing_port() as port:
        url = f"ws://127.0.0.1:{port}/v3.6/agent/rtm/ws?organization_id=org-1"
        with pytest.raises(RtmUnavailable) as raised:
            open_session(url, BearerToken("dal:some-token-value-123"), who="agent")
    assert str(raised.value).startswith(
        f"could not connect to LiveChat RTM at ws://127.0.0.1:{port}/v3.6/agent/rtm/ws ("
    )
    assert "Check --livechat-api-url and the network." in str(raised.value)


def test_certificates_are_verified(accounts: AccountsServer, tmp_path: Path) -> None:
    """A wss:// server whose certificate no authority signed (a self-signed one, made with
    openssl): the connection is refused, never used."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    subprocess.run(
        [*command, "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server = RtmServer(accounts).start(tls)
    try:
        url = rtm_url(server.url, "agent", "org-1")
        assert url.startswith("wss://localhost:")
        with pytest.raises(RtmUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
            open_session(url, BearerToken(accounts.issue()), who="agent")
        assert server.seen == []
    finally:
        server.stop()


def test_a_login_never_answered_times_out(rtm_server: RtmServer, sessions: list[Rtm]) -> None:
    """A server that takes the connection and never answers: the login's own deadline."""
    rtm_server.silent = True
    url = rtm_url(rtm_server.url, "agent", "org-1")
    with pytest.raises(RtmUnavailable, match="login failed: no answer to login"):
        open_session(url, BearerToken(rtm_server.accounts.issue()), who="agent", timeout=0.5)


def test_a_push_between_a_request_and_the_wait_is_not_missed(
    rtm_server: RtmServer, sessions: list[Rtm]
) -> None:
    """The customer's message arrives while the agent is still busy with its own request."""
    watching = agent(rtm_server, sessions)
    buyer = customer(rtm_server, sessions)
    chat = buyer.request("start_chat", {"chat": {}})
    sent = buyer.request(
        "send_event",
        {
            "chat_id": chat["chat_id"],
            "event": {"type": "message", "text": "hi", "visibility": "all"},
        },
    )
    assert watching.request("list_chats")["found_chats"] == 1  # the push came before this ended
    event = watching.wait_for("incoming_event", lambda p: p["chat_id"] == chat["chat_id"])
    assert event["event"]["id"] == sent["event_id"]
    assert event["event"]["text"] == "hi"
    assert watching.wait_for("incoming_chat")["chat"]["id"] == chat["chat_id"]


def test_pinging_keeps_a_connection_past_the_idle_limit(
    rtm_server: RtmServer, sessions: list[Rtm]
) -> None:
    """The idle limit shortened to 1 s (LiveChat's is about 30 s), pings every 0.02 s: fifty
    a limit, so a loaded machine cannot make it miss one."""
    rtm_server.idle = 1.0
    rtm = agent(rtm_server, sessions, ping_every=0.02)
    # Three limits' worth of pings, however long they take; a connection cut off ends it too.
    while rtm_server.pings < 150 and not rtm_server.closed.wait(0.05):
        pass
    assert not rtm_server.closed.is_set()
    assert rtm.request("list_chats")["found_chats"] == 0


def test_without_pings_the_server_disconnects(rtm_server: RtmServer, sessions: list[Rtm]) -> None:
    rtm_server.idle = 0.2
    rtm = agent(rtm_server, sessions, ping_every=3600)
    assert rtm_server.closed.wait(60)
    with pytest.raises(RtmUnavailable, match=r"connection_timeout"):
        rtm.wait_for("incoming_event", timeout=60)


def test_a_disconnect_push_says_why_and_nothing_reconnects(
    rtm_server: RtmServer, sessions: list[Rtm]
) -> None:
    rtm = agent(rtm_server, sessions)
    rtm_server.disconnect("access_token_revoked")
    with pytest.raises(RtmUnavailable) as raised:
        rtm.wait_for("incoming_event", timeout=60)
    assert "LiveChat disconnected the session (access_token_revoked)" in str(raised.value)
    with pytest.raises(RtmUnavailable, match="could not send list_chats"):
        rtm.request("list_chats")
    assert rtm_server.actions().count("login") == 1, "no reconnection"


@pytest.mark.parametrize(
    ("reason", "data", "said"),
    [
        ("access_token_expired", None, "its token expired: open a new session"),
        ("connection_evicted", None, "took its place: use one session a user and test"),
        ("too_many_connections", None, "close other sessions of that user"),
        (
            "misdirected_connection",
            {"region": "fra"},
            "point --livechat-api-url at that region (fra)",
        ),
        ("internal_error", None, "LiveChat failed on its side"),
        ("some_new_reason", None, "see LiveChat's list of disconnect reasons"),
    ],
)
def test_each_disconnect_reason_says_what_to_do(
    rtm_server: RtmServer,
    sessions: list[Rtm],
    reason: str,
    data: dict[str, str] | None,
    said: str,
) -> None:
    """RTM pushes' disconnect reasons: one line each, what happened and what to do; nothing
    reconnects by itself."""
    rtm = agent(rtm_server, sessions)
    rtm_server.disconnect(reason, data)
    with pytest.raises(RtmUnavailable) as raised:
        rtm.wait_for("incoming_event", timeout=60)
    assert f"LiveChat disconnected the session ({reason}): " in str(raised.value)
    assert said in str(raised.value)
    assert rtm_server.actions().count("login") == 1, "no reconnection"


def test_an_expired_token_is_renewed_and_the_session_logged_in_again_once(
    rtm_server: RtmServer, sessions: list[Rtm]
) -> None:
    """``access_token_expired`` (RTM pushes: renew the token and reconnect): the next call
    renews, connects again, logs in with the new token and goes on, once a session; a second
    expiry ends the session with its one line."""
    accounts = rtm_server.accounts
    renewed = BearerToken(accounts.issue(), expires_at=utcnow() + timedelta(hours=8))
    rtm = agent(rtm_server, sessions, renew=lambda: renewed)
    rtm_server.disconnect("access_token_expired")
    assert rtm.request("list_chats") == {"chats_summary": [], "found_chats": 0}
    logins = [payload for _, action, _, payload in rtm_server.seen if action == "login"]
    assert [login["token"] for login in logins][1:] == [f"Bearer {renewed}"]
    rtm_server.disconnect("access_token_expired")
    with pytest.raises(RtmUnavailable, match="access_token_expired"):
        rtm.request("list_chats")
    assert rtm_server.actions().count("login") == 2, "once, never in a loop"


def test_a_wait_goes_on_across_a_renewed_login(rtm_server: RtmServer, sessions: list[Rtm]) -> None:
    accounts = rtm_server.accounts
    renewed = BearerToken(accounts.issue(), expires_at=utcnow() + timedelta(hours=8))
    rtm = agent(rtm_server, sessions, renew=lambda: renewed)
    got: list[dict[str, Any]] = []
    waiter = threading.Thread(target=lambda: got.append(rtm.wait_for("incoming_event", timeout=60)))
    waiter.start()
    rtm_server.disconnect("access_token_expired")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(
        peer.token == str(renewed) for peer in list(rtm_server.peers)
    ):
        time.sleep(0.05)  # the server has the session logged in again
    rtm_server.push_to_agents("incoming_event", {"chat_id": "CH2"})
    waiter.join(60)
    assert got == [{"chat_id": "CH2"}]


def test_a_busy_answer_is_waited_out_and_sent_again(
    rtm_server: RtmServer, sessions: list[Rtm]
) -> None:
    """too_many_requests (and pending_requests_limit_reached) back off instead of failing the
    test."""
    rtm = agent(rtm_server, sessions)
    rtm_server.busy = 1
    assert rtm.request("list_chats") == {"chats_summary": [], "found_chats": 0}
    assert rtm_server.actions().count("list_chats") == 2


def test_the_clients_deadline_does_not_race_livechats_request_timeout() -> None:
    from pytest_livechat_token._rtm import session

    assert session.TIMEOUT > 15.0, "LiveChat's own request_timeout answers first"


def test_a_renewed_token_is_sent_with_update_session(
    rtm_server: RtmServer, sessions: list[Rtm]
) -> None:
    accounts = rtm_server.accounts
    expiring = BearerToken(accounts.issue(), expires_at=utcnow() + timedelta(seconds=60))
    renewed = BearerToken(accounts.issue(), expires_at=utcnow() + timedelta(hours=8))
    rtm = agent(rtm_server, sessions, expiring, renew=lambda: renewed, min_ttl=600)
    rtm.request("list_chats")
    updates = [seen for seen in rtm_server.seen if seen[1] == "update_session"]
    assert [payload["token"] for _, _, _, payload in updates] == [f"Bearer {renewed}"]
    rtm.request("list_chats")
    assert rtm_server.actions().count("update_session") == 1, "once: the new token is fresh"


def test_a_customer_session_never_sends_update_session(
    rtm_server: RtmServer, sessions: list[Rtm]
) -> None:
    """The Customer Chat API has no ``update_session`` (its RTM method list; the SDK has it
    for agents only): an expiring customer token is not swapped in its session."""
    asked: list[int] = []
    rtm = customer(
        rtm_server,
        sessions,
        expires_at=utcnow() + timedelta(seconds=60),
        renew=lambda: asked.append(1),
        min_ttl=600,
    )
    rtm.request("start_chat", {"chat": {}})
    assert asked == []
    assert "update_session" not in rtm_server.actions("customer")


def test_a_long_wait_renews_the_token_when_it_is_due(
    rtm_server: RtmServer, sessions: list[Rtm]
) -> None:
    """``wait_for`` outlives the session's token: the renewal falls due during the wait, and
    ``update_session`` is sent then, not at the next call (the push comes only after it)."""
    accounts = rtm_server.accounts
    due_soon = BearerToken(accounts.issue(), expires_at=utcnow() + timedelta(seconds=601))
    renewed = BearerToken(accounts.issue(), expires_at=utcnow() + timedelta(hours=8))
    rtm = agent(rtm_server, sessions, due_soon, renew=lambda: renewed, min_ttl=600)
    got: list[dict[str, Any]] = []
    waiter = threading.Thread(target=lambda: got.append(rtm.wait_for("incoming_event", timeout=60)))
    waiter.start()
    deadline = time.monotonic() + 60
    while "update_session" not in rtm_server.actions() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "update_session" in rtm_server.actions(), "sent while the call waited"
    rtm_server.push_to_agents("incoming_event", {"chat_id": "CH1", "event": {"text": "hi"}})
    waiter.join(60)
    assert got == [{"chat_id": "CH1", "event": {"text": "hi"}}]


def test_a_token_that_cannot_be_renewed_is_asked_once(
    rtm_server: RtmServer, sessions: list[Rtm]
) -> None:
    asked: list[int] = []
    due = BearerToken(rtm_server.accounts.issue(), expires_at=utcnow() + timedelta(seconds=300))
    rtm = agent(rtm_server, sessions, due, renew=lambda: asked.append(1), min_ttl=600)
    with pytest.raises(RtmUnavailable, match=r"within 0\.3 s"):
        rtm.wait_for("incoming_event", timeout=0.3)
    rtm.request("list_chats")
    assert asked == [1], "the run could not renew it: not asked again and again"


def test_a_fresh_token_is_not_renewed(rtm_server: RtmServer, sessions: list[Rtm]) -> None:
    asked: list[int] = []
    fresh = BearerToken(rtm_server.accounts.issue(), expires_at=utcnow() + timedelta(hours=8))
    rtm = agent(rtm_server, sessions, fresh, renew=lambda: asked.append(1), min_ttl=600)
    rtm.request("list_chats")
    assert asked == []


def test_the_async_interface(rtm_server: RtmServer, sessions: list[Rtm]) -> None:
    rtm = agent(rtm_server, sessions).aio
    buyer = customer(rtm_server, sessions).aio

    async def chat() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        listed = await rtm.request("list_chats")
        started = await buyer.request("start_chat", {"chat": {}})
        return listed, started, await rtm.wait_for("incoming_chat", timeout=60)

    listed, started, pushed = asyncio.run(chat())
    assert listed["found_chats"] == 0
    assert pushed["chat"]["id"] == started["chat_id"]
    assert repr(rtm) == "AsyncRtm(Rtm(who='agent', closed=False))"


def test_frames_are_logged_at_debug_without_a_token(
    rtm_server: RtmServer, sessions: list[Rtm], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "pytest_livechat_token")
    token = BearerToken(rtm_server.accounts.issue())
    agent(rtm_server, sessions, token).request("list_chats")
    assert 'RTM agent > {"action": "login"' in caplog.text
    assert "RTM agent < response list_chats" in caplog.text
    assert str(token) not in caplog.text
    assert str(token)[4:20] not in caplog.text
