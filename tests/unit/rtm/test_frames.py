"""The RTM protocol on paper (``rtm_frames``): the address, the frames, the mailbox."""

from __future__ import annotations

import json
import threading

import pytest

from pytest_livechat_token._rtm.frames import (
    MAX_PUSHES,
    Mailbox,
    Message,
    RtmError,
    RtmUnavailable,
    error_of,
    parse,
    request_frame,
    rtm_url,
    shown,
    token_payload,
)

TOKEN = "dal:secret-token-value-1234567890"


@pytest.mark.parametrize(
    ("api_url", "who", "expected"),
    [
        (
            "https://api.livechatinc.com/v3.6/",
            "agent",
            "wss://api.livechatinc.com/v3.6/agent/rtm/ws?organization_id=org-1",
        ),
        (
            "http://127.0.0.1:8080/v3.6",
            "customer",
            "ws://127.0.0.1:8080/v3.6/customer/rtm/ws?organization_id=org-1",
        ),
    ],
)
def test_the_address_follows_the_api_url(api_url: str, who: str, expected: str) -> None:
    assert rtm_url(api_url, who, "org-1") == expected  # type: ignore[arg-type]


def test_plain_ws_is_for_this_machine_only() -> None:
    with pytest.raises(RtmUnavailable, match="plain ws:// only to this machine"):
        rtm_url("http://api.example.com/v3.6/", "agent", "org-1")


def test_the_organization_is_encoded() -> None:
    assert rtm_url("https://a.test/v3.6/", "agent", "a&b=c").endswith("organization_id=a%26b%3Dc")


def test_frames() -> None:
    assert json.loads(request_frame("login", token_payload(TOKEN), "r-1")) == {
        "action": "login",
        "payload": {"token": f"Bearer {TOKEN}"},
        "request_id": "r-1",
    }


@pytest.mark.parametrize("action", ["login", "update_session"])
def test_what_the_log_shows_of_a_login_has_no_token(action: str) -> None:
    text = shown(action, token_payload(TOKEN))
    assert TOKEN not in text
    assert "secret-token-value" not in text
    assert '"token": "Bearer dal:' in text


def test_what_the_log_shows_of_another_request() -> None:
    assert shown("send_event", {"chat_id": "C1"}) == (
        '{"action": "send_event", "payload": {"chat_id": "C1"}}'
    )


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        b"\xff\xfe",
        "[]",
        '{"type": "request", "action": "x"}',
        '{"type": "push"}',
        '{"type": "response", "action": 5}',
    ],
)
def test_frames_that_are_neither_a_response_nor_a_push(text: str | bytes) -> None:
    assert parse(text) is None


def test_a_response_and_an_error() -> None:
    message = parse(
        '{"type": "response", "action": "login", "request_id": "r-1", "success": false,'
        ' "payload": {"error": {"type": "authentication", "message": "Invalid access token"}}}'
    )
    assert message == Message(
        "response",
        "login",
        "r-1",
        False,
        {"error": {"type": "authentication", "message": "Invalid access token"}},
    )
    error = error_of(message)
    assert isinstance(error, RtmError)
    assert (error.type, error.message) == ("authentication", "Invalid access token")
    assert str(error) == "LiveChat RTM login failed: authentication: Invalid access token"


def test_a_hostile_error_is_escaped() -> None:
    message = parse(
        '{"type": "response", "action": "x\\u001b[2J", "request_id": "r", "success": false,'
        ' "payload": {"error": {"type": "\\u001b]52;c;eA==\\u0007", "message": 5}}}'
    )
    assert message is not None
    assert "\x1b" not in str(error_of(message))


def push(action: str, **payload: object) -> Message:
    return Message("push", action, None, True, dict(payload))


def test_a_push_that_came_before_the_wait_is_not_missed() -> None:
    mailbox = Mailbox()
    mailbox.put(push("incoming_event", chat_id="C1"))
    mailbox.put(push("incoming_event", chat_id="C2"))
    found = mailbox.push("incoming_event", lambda p: p["chat_id"] == "C2", 0)
    assert found.payload == {"chat_id": "C2"}
    assert mailbox.push("incoming_event", None, 0).payload == {"chat_id": "C1"}
    with pytest.raises(RtmUnavailable, match="no the incoming_event push within 0 s"):
        mailbox.push("incoming_event", None, 0)


def test_a_wait_ends_when_the_answer_comes() -> None:
    mailbox = Mailbox()
    answer = Message("response", "list_chats", "r-7", True, {"found_chats": 0})
    threading.Timer(0.01, mailbox.put, (answer,)).start()
    assert mailbox.response("r-7", 60, "answer") == answer


def test_a_closed_mailbox_wakes_the_waiter_with_why() -> None:
    mailbox = Mailbox()
    threading.Timer(0.01, mailbox.close, ("LiveChat closed the RTM connection",)).start()
    with pytest.raises(RtmUnavailable, match="no answer: LiveChat closed the RTM connection"):
        mailbox.response("r-1", 60, "answer")


def test_a_wait_that_runs_out_says_so() -> None:
    now = [0.0]

    def clock() -> float:
        now[0] += 1.0
        return now[0]

    with pytest.raises(RtmUnavailable, match="within 2 s; the RTM connection is open"):
        Mailbox(clock).response("r-1", 2, "answer")


def test_unread_pushes_are_bounded() -> None:
    mailbox = Mailbox()
    for number in range(MAX_PUSHES + 5):
        mailbox.put(push("incoming_event", n=number))
    assert mailbox.push("incoming_event", None, 0).payload == {"n": 5}


def test_login_options_are_those_of_the_kind_of_session() -> None:
    from pytest_livechat_token._base.errors import ConfigError
    from pytest_livechat_token._rtm.frames import login_options

    assert login_options("agent", {"away": True}) == {"away": True}
    assert login_options("customer", {"group_id": 2, "pushes": {}}) == {"group_id": 2, "pushes": {}}
    with pytest.raises(ConfigError, match="away: not an option of the customer login"):
        login_options("customer", {"away": True})
    with pytest.raises(ConfigError, match=r"takes a dict of login options"):
        login_options("agent", ["away"])
