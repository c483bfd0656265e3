"""Bot agents through pytest, xdist and the CLI (their in-process tests:
``tests/unit/core/test_bots.py``): one bot and one token for four workers, the bot's API client,
no RTM for a bot, and no form of a bot's secret or token in anything pytest or the CLI prints
or writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_livechat_token._store.cache import TokenCache

from ..support.accounts_server import AccountsServer
from ..support.helpers import cache_token, cli_against, run_against

SCOPE = "chats--all:rw,agents-bot--my:rw"
ISSUE = "/v3.6/configuration/action/issue_bot_token"
CREATE = "/v3.6/configuration/action/create_bot"

BOT_SUITE = """
import pytest

def test_bot_{n}(livechat_bot_for, livechat_bot_api_for):
    bot = livechat_bot_for("greeter")
    answer = livechat_bot_api_for("greeter").post(
        "agent/action/set_routing_status", json={{"status": "accepting_chats"}}
    )
    assert answer.status_code == 200
    assert livechat_bot_api_for("greeter").headers["Authorization"] == bot.authorization
"""

LEAKY = """
def test_prints_the_bot_token(livechat_bot_for, record_property):
    bot = livechat_bot_for("greeter")
    print("token:", bot, "authorization:", bot.authorization)
    record_property("token", str(bot))
    assert bot == "something else"

def test_no_rtm_for_a_bot(livechat_bot_for, livechat_rtm_for):
    livechat_rtm_for(livechat_bot_for("greeter"))
"""


def agent(accounts: AccountsServer, cache_file: Path) -> None:
    token = accounts.issue(scope=SCOPE)
    cache_token(cache_file, accounts.url, token, account_id="acc-1", scope=SCOPE)


def test_four_workers_share_one_bot_and_one_token(
    pytester: pytest.Pytester, accounts: AccountsServer, cache_file: Path
) -> None:
    agent(accounts, cache_file)
    for n in range(4):
        pytester.makepyfile(**{f"test_bot{n}": BOT_SUITE.format(n=n)})
    result = run_against(pytester, accounts, "-n", "4", "--dist", "loadfile")
    result.assert_outcomes(passed=4)
    assert (accounts.count("POST", CREATE), accounts.count("POST", ISSUE)) == (1, 1)
    (bot,) = accounts.bots.values()
    assert bot.routing_status == "accepting_chats"
    # A second run: the cached token, handed to the workers; nothing asked of LiveChat.
    run_against(pytester, accounts, "-n", "2").assert_outcomes(passed=4)
    assert (accounts.count("POST", CREATE), accounts.count("POST", ISSUE)) == (1, 1)


def test_no_form_of_a_bot_secret_or_token_in_any_output(
    pytester: pytest.Pytester, accounts: AccountsServer, cache_file: Path
) -> None:
    agent(accounts, cache_file)
    pytester.makepyfile(test_leaky=LEAKY)
    report = pytester.path / "junit.xml"
    result = run_against(pytester, accounts, "-rA", "-l", f"--junitxml={report}")
    result.assert_outcomes(failed=2)
    (token,) = accounts.bot_tokens
    (bot,) = accounts.bots.values()
    shown = result.stdout.str() + result.stderr.str() + report.read_text()
    for secret in (token, bot.secret, f"Bearer {token}"):
        assert secret not in shown
    result.stdout.fnmatch_lines(["*a LiveChat bot has no RTM connection*livechat_bot_api_for*"])
    listed = cli_against(accounts, "bots")
    assert listed.returncode == 0, listed.stderr
    assert "greeter" in listed.stdout
    status = cli_against(accounts, "status")
    for secret in (token, bot.secret):
        assert secret not in listed.stdout + listed.stderr + status.stdout + status.stderr
    assert "greeter" in status.stdout


def test_logout_bot_deletes_the_bot_at_livechat_and_forgets_it(
    pytester: pytest.Pytester, accounts: AccountsServer, cache_file: Path
) -> None:
    agent(accounts, cache_file)
    pytester.makepyfile(test_bot0=BOT_SUITE.format(n=0))
    run_against(pytester, accounts).assert_outcomes(passed=1)
    (bot_id,) = accounts.bots
    deleted = cli_against(accounts, "logout", "--bot", "greeter")
    assert deleted.returncode == 0, deleted.stderr
    assert f"Removed the bot 'greeter' ({bot_id}) from the cache" in deleted.stderr
    assert accounts.bots == {}
    assert TokenCache(cache_file).bots() == {}
    again = cli_against(accounts, "logout", "--bot", "greeter")
    assert again.returncode == 1
    assert "no bot 'greeter' cached" in again.stderr


def test_logout_all_deletes_the_bots_first_and_a_bot_it_cannot_delete_stays_cached(
    pytester: pytest.Pytester, accounts: AccountsServer, cache_file: Path
) -> None:
    agent(accounts, cache_file)
    pytester.makepyfile(test_bot0=BOT_SUITE.format(n=0))
    run_against(pytester, accounts).assert_outcomes(passed=1)
    accounts.fixed[("POST", "/v3.6/configuration/action/delete_bot")] = (
        500,
        b'{"error": {"type": "internal"}}',
        {},
    )
    failed = cli_against(accounts, "logout", "--all")
    assert failed.returncode == 1
    assert "it stays cached: run this again later" in failed.stderr
    assert len(TokenCache(cache_file).bots()) == 1
    del accounts.fixed[("POST", "/v3.6/configuration/action/delete_bot")]
    agent(accounts, cache_file)  # logged in again
    done = cli_against(accounts, "logout", "--all")
    assert done.returncode == 0, done.stderr
    assert accounts.bots == {}
    assert TokenCache(cache_file).bots() == {}


def test_the_report_header_names_the_cached_bots(
    pytester: pytest.Pytester, accounts: AccountsServer, cache_file: Path
) -> None:
    agent(accounts, cache_file)
    pytester.makepyfile(test_bot0=BOT_SUITE.format(n=0))
    run_against(pytester, accounts).assert_outcomes(passed=1)
    result = run_against(pytester, accounts)
    result.stdout.fnmatch_lines(
        ["livechat: client client-1, bots cached: greeter (1 with a token for this run;*"]
    )


def test_the_cli_with_no_bot_and_a_bot_livechat_will_not_delete(
    pytester: pytest.Pytester, accounts: AccountsServer, cache_file: Path
) -> None:
    agent(accounts, cache_file)
    listed = cli_against(accounts, "bots")
    assert (listed.returncode, listed.stdout.split(" in ")[0]) == (0, "No bots cached")
    pytester.makepyfile(test_bot0=BOT_SUITE.format(n=0))
    run_against(pytester, accounts).assert_outcomes(passed=1)
    accounts.fixed[("POST", "/v3.6/configuration/action/delete_bot")] = (
        403,
        b'{"error": {"type": "authorization"}}',
        {},
    )
    refused = cli_against(accounts, "logout", "--bot", "greeter")
    assert refused.returncode == 1
    assert "(LiveChat refused delete_bot (HTTP 403: authorization)); it stays cached" in (
        refused.stderr
    )
    assert len(TokenCache(cache_file).bots()) == 1
