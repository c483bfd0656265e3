"""The RTM fixtures through pytest, against the test accounts server and the test RTM server:
an end-to-end chat, async tests, every output with no token, and a missing extra."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..support.accounts_server import AccountsServer
from ..support.helpers import cache_token, run_against
from ..support.rtm_server import RtmServer

SCOPE = "chats--all:rw,customers:own"

CHAT = """
def test_the_agent_sees_what_the_customer_writes(livechat_rtm, livechat_customer_rtm):
    chat = livechat_customer_rtm.request("start_chat", {"chat": {}})
    message = {"type": "message", "text": "Hello from the customer", "visibility": "all"}
    livechat_customer_rtm.request("send_event", {"chat_id": chat["chat_id"], "event": message})
    pushed = livechat_rtm.wait_for(
        "incoming_event", where=lambda payload: payload["chat_id"] == chat["chat_id"]
    )
    assert pushed["event"]["text"] == "Hello from the customer"


def test_a_refused_request(livechat_rtm):
    from pytest_livechat_token import RtmError
    import pytest

    with pytest.raises(RtmError, match="not_found: Chat not found"):
        livechat_rtm.request("send_event", {"chat_id": "none", "event": {"type": "message"}})


def test_fails_with_locals_shown(livechat_rtm, livechat_bearer, livechat_customer):
    token, customer = str(livechat_bearer), str(livechat_customer)
    assert livechat_rtm.request("list_chats", timeout=30) == {"found": token + customer}
"""


def run(
    pytester: pytest.Pytester, accounts: AccountsServer, rtm_server: RtmServer, *args: str
) -> pytest.RunResult:
    return run_against(pytester, accounts, *args, api_url=rtm_server.url)


def test_an_end_to_end_chat_with_no_token_in_any_output(
    pytester: pytest.Pytester, accounts: AccountsServer, rtm_server: RtmServer, cache_file: Path
) -> None:
    """The agent's token is cached without its organization (``/v2/info`` is asked); the
    customer is made with the agent token grant. Under ``-l -vv`` and DEBUG logs to the
    terminal, neither token, nor the customer's, shows in any form."""
    token = accounts.issue(scope=SCOPE)
    cache_token(cache_file, accounts.url, token, scope=SCOPE)
    pytester.makepyfile(test_chat=CHAT)
    result = run(
        pytester, accounts, rtm_server, "-l", "-vv", "--log-level=DEBUG", "-o", "log_cli=true"
    )
    result.assert_outcomes(passed=2, failed=1)
    out = result.stdout.str() + result.stderr.str()
    (customer,) = accounts.customer_tokens
    for secret in (token, customer):
        assert secret not in out
        assert secret[4:24] not in out
        assert json.dumps(secret) not in out
    assert 'RTM agent > {"action": "login", "payload": {"token": "Bearer dal:' in out
    assert "RTM customer < push incoming_event" not in out  # the customer wrote it
    assert "RTM agent < push incoming_event" in out
    assert rtm_server.actions("customer") == ["login", "start_chat", "send_event"]
    assert accounts.count("GET", "/v2/info") == 1, "the organization, asked once"


ASYNC = """
import pytest

@pytest.fixture(params=["asyncio"])
def anyio_backend(request):
    return request.param

@pytest.mark.asyncio
async def test_under_pytest_asyncio(livechat_async_rtm, livechat_customer_async_rtm):
    chat = await livechat_customer_async_rtm.request("start_chat", {"chat": {}})
    pushed = await livechat_async_rtm.wait_for("incoming_chat")
    assert pushed["chat"]["id"] == chat["chat_id"]

@pytest.mark.anyio
async def test_under_anyio(livechat_async_rtm):
    assert (await livechat_async_rtm.request("list_chats"))["found_chats"] >= 0
"""


def test_async_sessions_under_pytest_asyncio_and_anyio(
    pytester: pytest.Pytester,
    accounts: AccountsServer,
    rtm_server: RtmServer,
    cache_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest")  # asyncio and anyio are used
    token = accounts.issue(scope=SCOPE)
    cache_token(cache_file, accounts.url, token, account_id="acc-1", scope=SCOPE)
    pytester.makepyfile(test_async=ASYNC)
    result = run(pytester, accounts, rtm_server, "-W", "error::ResourceWarning")
    result.assert_outcomes(passed=2)
    assert rtm_server.actions("agent").count("login") == 2, "a session a test"


def test_a_token_without_an_organization_is_one_line(
    pytester: pytest.Pytester,
    accounts: AccountsServer,
    rtm_server: RtmServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = accounts.issue()
    accounts.tokens[token].organization_id = ""
    monkeypatch.setenv("LIVECHAT_BEARER_TOKEN", token)
    pytester.makepyfile("def test_rtm(livechat_rtm):\n    pass\n")
    result = run(pytester, accounts, rtm_server)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*the LiveChat token names no organization, which the RTM*"])
    assert "Traceback" not in result.stdout.str()
    assert rtm_server.seen == []


def test_without_the_extra_the_fixture_says_what_to_install(
    pytester: pytest.Pytester,
    accounts: AccountsServer,
    rtm_server: RtmServer,
    cache_file: Path,
) -> None:
    cache_token(cache_file, accounts.url, accounts.issue(), account_id="acc-1")
    pytester.makeconftest("import sys\nsys.modules['websockets'] = None  # not installed\n")
    pytester.makepyfile("def test_rtm(livechat_rtm):\n    pass\n")
    result = run(pytester, accounts, rtm_server)
    result.assert_outcomes(errors=1)
    assert (
        "\nthe RTM fixtures need the websockets library: pip install "
        "'pytest-livechat-token[rtm]'\n" in result.stdout.str()
    )
    assert "Traceback" not in result.stdout.str()


LOGIN_OPTIONS = """
import pytest

@pytest.mark.livechat_rtm_login(agent={"away": True, "timezone": "Europe/Warsaw"},
                                customer={"group_id": 0})
def test_logged_in_as_asked(livechat_rtm, livechat_customer_rtm):
    pass

@pytest.mark.livechat_rtm_login(agent={"group_id": 1})
def test_a_customer_option_for_an_agent(livechat_rtm):
    pass
"""


def test_a_marker_sets_the_login_options(
    pytester: pytest.Pytester, accounts: AccountsServer, rtm_server: RtmServer, cache_file: Path
) -> None:
    """``@pytest.mark.livechat_rtm_login``: one way for every RTM fixture, agent and customer
    options apart (Agent Chat and Customer Chat API RTM references, ``login``); an option of
    the other kind is one line."""
    token = accounts.issue(scope=SCOPE)
    cache_token(cache_file, accounts.url, token, scope=SCOPE)
    pytester.makepyfile(test_login=LOGIN_OPTIONS)
    result = run(pytester, accounts, rtm_server, "-p", "no:randomly")
    result.assert_outcomes(passed=1, errors=1)
    logins = {who: payload for who, action, _, payload in rtm_server.seen if action == "login"}
    assert logins["agent"]["away"] is True
    assert logins["agent"]["timezone"] == "Europe/Warsaw"
    assert logins["customer"]["group_id"] == 0
    assert "away" not in logins["customer"]
    result.stdout.fnmatch_lines(
        ["*group_id: not an option of the agent login of LiveChat RTM (those are away, pushes,*"]
    )
