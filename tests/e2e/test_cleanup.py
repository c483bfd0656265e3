"""No trace: the chats a run starts through the plugin's clients and RTM sessions are
deactivated, through pytest and xdist for real (the in-process tests:
``tests/unit/core/test_cleanup.py``): when each test ends, at the session's end, or never;
after a SIGKILL, by the next run; a chat that cannot be deactivated is a warning; a chat an
HTTP mock answered is no chat."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from ..support.accounts_server import AccountsServer
from ..support.chat_suites import KILLED, MANY, SCOPE
from ..support.helpers import cache_token, cli_against, run_against
from ..support.rtm_server import RtmServer

TWO_TESTS = """
import json
from pathlib import Path

import pytest

CHATS = []

@pytest.fixture(scope="session")
def lobby(livechat_api):
    return livechat_api.post("agent/action/start_chat", json={}).json()["chat_id"]

def active(livechat_api):
    summary = livechat_api.post("agent/action/list_chats", json={}).json()["chats_summary"]
    return {chat["id"] for chat in summary if chat["last_thread_summary"]["active"]}

def test_starts_one(livechat_api, lobby):
    CHATS.append(livechat_api.post("agent/action/start_chat", json={}).json()["chat_id"])

def test_sees_them(livechat_api, lobby):
    seen = {"active": sorted(active(livechat_api) & {*CHATS, lobby}), "chats": [*CHATS, lobby]}
    Path("seen.json").write_text(json.dumps(seen))
"""

MOCKED = """
def test_mocked(httpx_mock, livechat_api, livechat_api_url):
    url = f"{livechat_api_url}agent/action/start_chat"
    httpx_mock.add_response(url=url, json={"chat_id": "FAKE"})
    assert livechat_api.post("agent/action/start_chat", json={}).json() == {"chat_id": "FAKE"}
"""


@pytest.fixture
def agent(accounts: AccountsServer, cache_file: Path) -> str:
    token = accounts.issue(scope=SCOPE)
    cache_token(cache_file, accounts.url, token, account_id="acc-1", scope=SCOPE)
    return token


def test_fifty_tests_on_four_workers_leave_no_chat_active(
    pytester: pytest.Pytester,
    accounts: AccountsServer,
    rtm_server: RtmServer,
    agent: str,
    cache_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Sync, async, customer and bot clients and RTM sessions (the API URL serves both, as
    LiveChat's does: the test server passes RTM's WebSockets on); 50 chats, 0 left active."""
    accounts.rtm_upstream = ("127.0.0.1", int(rtm_server.url.split(":")[2].split("/")[0]))
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest")  # pytest-asyncio is used
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_many=MANY.format(count=9, rest=5))
    result = run_against(pytester, accounts, "-n", "4")
    result.assert_outcomes(passed=50)
    assert len(accounts.chats) == 50
    assert accounts.active_chats() == set()
    journal = json.loads(cache_file.with_name("chats.json").read_text())
    assert journal["chats"] == []


@pytest.mark.parametrize(
    ("when", "still_active"),
    [("test", "lobby"), ("session", "both"), ("off", "both")],
)
def test_when_the_chats_are_deactivated(
    pytester: pytest.Pytester,
    accounts: AccountsServer,
    agent: str,
    cache_file: Path,
    when: str,
    still_active: str,
) -> None:
    """A session-scoped fixture's chat lasts the session; a test's ends with it (``test``),
    at the session's end (``session``), or never (``off``: nothing journaled either)."""
    pytester.makepyfile(test_two=TWO_TESTS)
    result = run_against(pytester, accounts, f"--livechat-cleanup={when}")
    result.assert_outcomes(passed=2)
    seen = json.loads((pytester.path / "seen.json").read_text())
    chats = seen["chats"]
    assert len(seen["active"]) == (1 if still_active == "lobby" else 2)
    if when == "off":
        assert accounts.active_chats() == set(chats)
        assert not cache_file.with_name("chats.json").exists()
    else:
        assert accounts.active_chats() == set()


def test_a_killed_run_s_chats_are_deactivated_by_the_next_run(
    pytester: pytest.Pytester, accounts: AccountsServer, agent: str, cache_file: Path
) -> None:
    pytester.makepyfile(test_killed=KILLED)
    killed = run_against(pytester, accounts)
    assert killed.ret == -signal.SIGKILL or killed.ret not in (0, 1)
    (chat_id,) = accounts.active_chats()
    dry = cli_against(accounts, "sweep", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "1 chat(s) in" in dry.stdout
    assert accounts.active_chats() == {chat_id}
    (pytester.path / "test_killed.py").unlink()
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    after = run_against(pytester, accounts)
    after.assert_outcomes(passed=1)
    after.stdout.fnmatch_lines(["livechat: deactivated 1 chat(s) that a killed run left active"])
    assert accounts.active_chats() == set()
    assert json.loads(cache_file.with_name("chats.json").read_text())["chats"] == []
    assert not list(cache_file.parent.glob("chats.json.owner-*.lock")), "no owner lock left"


def test_a_chat_that_cannot_be_deactivated_is_a_warning_not_an_error(
    pytester: pytest.Pytester, accounts: AccountsServer, agent: str
) -> None:
    accounts.fixed[("POST", "/v3.6/agent/action/deactivate_chat")] = (
        503,
        b'{"error": {"type": "service_unavailable"}}',
        {},
    )
    pytester.makepyfile(test_two=TWO_TESTS)
    result = run_against(pytester, accounts, "-W", "error")
    result.assert_outcomes(passed=2)
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        ["*CleanupWarning: could not deactivate the LiveChat chat CH*livechat-token sweep*"]
    )
    assert agent not in result.stdout.str()


def test_a_chat_an_http_mock_answered_is_no_chat(
    pytester: pytest.Pytester, accounts: AccountsServer, agent: str, cache_file: Path
) -> None:
    pytester.makepyfile(test_mocked=MOCKED)
    result = run_against(pytester, accounts)
    result.assert_outcomes(passed=1)
    assert not accounts.chats
    assert accounts.count("POST", "/v3.6/agent/action/deactivate_chat") == 0
    assert not cache_file.with_name("chats.json").exists()


def test_sweep_says_what_it_did(
    pytester: pytest.Pytester, accounts: AccountsServer, agent: str, cache_file: Path
) -> None:
    nothing = cli_against(accounts, "sweep")
    assert (nothing.returncode, nothing.stdout.split(" of ")[0]) == (0, "Deactivated 0 chat(s)")
    pytester.makepyfile(test_killed=KILLED)
    run_against(pytester, accounts)
    done = cli_against(accounts, "sweep")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Deactivated 1 chat(s) of ")
    assert done.stdout.rstrip().endswith("; 0 left.")
    assert accounts.active_chats() == set()
    off = cli_against(accounts, "sweep", "--token-cache", os.devnull)
    assert off.stdout == "No chat journal: there is no token cache.\n"
