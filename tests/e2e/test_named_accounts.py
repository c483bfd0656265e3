"""Several LiveChat users in one run (``livechat_bearer_for``) through pytest itself (the
in-process tests: ``tests/unit/core/test_named_accounts.py``)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from pytest_livechat_token._base.bearer import utcnow
from pytest_livechat_token._store.cache import CacheEntry

from ..support.accounts_server import AccountsServer
from ..support.helpers import cache_token, freeze_clock

TWO_USERS = """
def test_transfer(livechat_bearer, livechat_bearer_for):
    supervisor = livechat_bearer_for("supervisor")
    assert livechat_bearer_for("supervisor") is supervisor, "one token a name and run"
    assert livechat_bearer.account == "default"
    assert supervisor.account == "supervisor"
    assert supervisor != livechat_bearer
    print("ids", livechat_bearer.account_id, supervisor.account_id)
"""


def test_env_tokens_for_two_names_through_pytest(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_two=TWO_USERS)
    monkeypatch.setenv("LIVECHAT_BEARER_TOKEN", "dal:the-default-user-token")
    monkeypatch.setenv("LIVECHAT_BEARER_TOKEN_SUPERVISOR", "dal:the-supervisor-token")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "livechat: using the token in LIVECHAT_BEARER_TOKEN, LIVECHAT_BEARER_TOKEN_SUPERVISOR",
            "*ids None None*",
        ]
    )
    assert "the-supervisor-token" not in result.stdout.str()


def test_a_malformed_named_env_token_stops_pytest_without_echo(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_two=TWO_USERS)
    monkeypatch.setenv("LIVECHAT_BEARER_TOKEN_SUPERVISOR", "dal:secret-part\nsecond line")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "LIVECHAT_BEARER_TOKEN_SUPERVISOR does not hold a LiveChat token" in result.stderr.str()
    assert "secret-part" not in result.stdout.str() + result.stderr.str()


def test_a_bad_name_fails_the_test_with_the_rule(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        test_bad="def test_bad(livechat_bearer_for):\n    livechat_bearer_for('Boss Man')\n"
    )
    monkeypatch.setenv("LIVECHAT_BEARER_TOKEN", "dal:the-default-user-token")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*livechat_bearer_for('Boss Man'): an account name must match [[]a-z0-9[]]*"]
    )
    assert "Traceback" not in result.stdout.str()


def test_the_whole_suite_runs_as_another_account(
    pytester: pytest.Pytester,
    accounts: AccountsServer,
    cache_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``--livechat-account=viewer``: ``livechat_bearer`` is the viewer's token; the header names
    the account."""
    now = freeze_clock(monkeypatch, pytester.path)
    viewer = accounts.issue(account_id="acc-3")
    cache_token(cache_file, accounts.url, accounts.issue(), account_id="acc-1", now=now)
    cache_token(cache_file, accounts.url, viewer, account="viewer", account_id="acc-3", now=now)
    pytester.makepyfile(
        test_viewer="def test_viewer(livechat_bearer):\n"
        "    assert (livechat_bearer.account, livechat_bearer.account_id) == ('viewer', 'acc-3')\n"
    )
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "-p",
        "frozen_clock",
        "--livechat-client-id=client-1",
        f"--livechat-accounts-url={accounts.url}",
        "--livechat-account=viewer",
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "livechat: client client-1, account 'viewer', token cached, 8 h 0 min left",
            "livechat: client client-1, account 'default', token cached, 8 h 0 min left",
        ]
    )
    assert accounts.requests == []


def test_the_header_sums_up_more_than_three_accounts(
    pytester: pytest.Pytester,
    accounts: AccountsServer,
    cache_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = freeze_clock(monkeypatch, pytester.path)
    for name in ("default", "a1", "a2"):
        cache_token(cache_file, accounts.url, accounts.issue(), account=name, now=now)
    arguments = [
        "-p",
        "frozen_clock",
        "--livechat-client-id=client-1",
        f"--livechat-accounts-url={accounts.url}",
    ]
    pytester.makepyfile(test_plain="def test_plain():\n    pass\n")
    three = pytester.runpytest_subprocess("-p", "no:cacheprovider", *arguments)
    header = [line for line in three.stdout.lines if line.startswith("livechat:")]
    assert header == [
        "livechat: client client-1, token cached, 8 h 0 min left",
        "livechat: client client-1, account 'a1', token cached, 8 h 0 min left",
        "livechat: client client-1, account 'a2', token cached, 8 h 0 min left",
    ]
    cache_token(cache_file, accounts.url, accounts.issue(), account="a3", now=now)
    cache_token(cache_file, accounts.url, accounts.issue(), seconds=-5, account="a4", now=now)
    five = pytester.runpytest_subprocess("-p", "no:cacheprovider", *arguments)
    header = [line for line in five.stdout.lines if line.startswith("livechat:")]
    assert header == [
        "livechat: client client-1, token cached, 8 h 0 min left",
        "livechat: client client-1, 4 more accounts cached (a1, a2, a3, a4): 3 with a token "
        "for this run; livechat-token status lists them",
    ]
    assert accounts.requests == []


def test_the_cache_of_todays_release_is_used_then_migrated_with_no_prompt(
    pytester: pytest.Pytester, accounts: AccountsServer, cache_file: Path
) -> None:
    """A version 1 file: its token is used as the default account's with no write; the first
    write (here a silent renewal) makes it version 3 and keeps every entry."""
    token = accounts.issue()
    now = utcnow()
    v1_entry = CacheEntry(token, now + timedelta(hours=8), now, scope="chats--all:ro").to_json()
    other = CacheEntry("dal:other-client-token", now + timedelta(hours=8), now).to_json()
    v1 = {"version": 1, "entries": {accounts.url: {"client-1": v1_entry, "client-2": other}}}
    cache_file.parent.mkdir(parents=True, mode=0o700)
    cache_file.write_text(json.dumps(v1))
    cache_file.chmod(0o600)
    before = cache_file.read_bytes()
    pytester.makepyfile(
        test_v1="def test_v1(livechat_bearer):\n    assert livechat_bearer.account == 'default'\n"
    )
    arguments = ["--livechat-client-id=client-1", f"--livechat-accounts-url={accounts.url}"]
    used = pytester.runpytest_subprocess("-p", "no:cacheprovider", *arguments)
    used.assert_outcomes(passed=1)
    assert cache_file.read_bytes() == before, "reading a version 1 file never rewrites it"
    assert accounts.requests == []
    # Its token expiring, with a refresh token: the renewal is the first write.
    pair = accounts.pair()
    v1["entries"][accounts.url]["client-1"] = CacheEntry(  # type: ignore[index]
        pair["access_token"],
        now - timedelta(seconds=5),
        now - timedelta(hours=8),
        refresh_token=pair["refresh_token"],
    ).to_json()
    cache_file.write_text(json.dumps(v1))
    renewed = pytester.runpytest_subprocess("-p", "no:cacheprovider", *arguments)
    renewed.assert_outcomes(passed=1)
    assert "Paste the address" not in renewed.stdout.str()
    document = json.loads(cache_file.read_text())
    assert document["version"] == 3
    clients = document["entries"][accounts.url]
    assert set(clients) == {"client-1", "client-2"}
    assert clients["client-2"]["default"]["access_token"] == "dal:other-client-token"
    assert clients["client-1"]["default"]["access_token"] in accounts.tokens
    assert accounts.refresh_calls == 1
