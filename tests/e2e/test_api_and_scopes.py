"""The livechat_api client and the livechat_scopes marker, through pytester."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..support.accounts_server import AccountsServer
from ..support.helpers import cache_token


def run(pytester: pytest.Pytester, accounts: AccountsServer, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "--livechat-client-id=client-1",
        f"--livechat-accounts-url={accounts.url}",
        f"--livechat-api-url={accounts.url}/v3.6",
        "-rs",
        *args,
    )


def test_api_client_sends_token_and_region(
    pytester: pytest.Pytester, accounts: AccountsServer, cache_file: Path
) -> None:
    cache_token(cache_file, accounts.url, accounts.issue(region="fra-a"))
    pytester.makepyfile(
        """
        import httpx

        def test_groups(livechat_api):
            assert isinstance(livechat_api, httpx.Client)
            response = livechat_api.post("configuration/action/list_groups", json={})
            assert response.json() == [{"id": 0, "name": "General"}]

        def test_same_client(livechat_api, livechat_bearer):
            assert livechat_api.headers["Authorization"] == livechat_bearer.authorization
            assert livechat_api.headers["X-Region"] == "fra-a"
            assert livechat_api.timeout.read == 30
        """
    )
    run(pytester, accounts).assert_outcomes(passed=2)
    assert accounts.regions == ["fra-a"]
    assert accounts.count("POST", "/v3.6/configuration/action/list_groups") == 1


def test_api_client_without_region(
    pytester: pytest.Pytester, accounts: AccountsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIVECHAT_BEARER_TOKEN", "legacy-token-without-region")
    pytester.makepyfile(
        """
        def test_no_region(livechat_api):
            assert "X-Region" not in livechat_api.headers
        """
    )
    run(pytester, accounts).assert_outcomes(passed=1)


def test_api_client_is_closed_at_session_end(
    pytester: pytest.Pytester, accounts: AccountsServer, cache_file: Path
) -> None:
    cache_token(cache_file, accounts.url, accounts.issue())
    pytester.makeconftest(
        """
        import pytest
        clients = []

        @pytest.fixture
        def keep(livechat_api):
            clients.append(livechat_api)

        def pytest_sessionfinish(session):
            print("closed:", [client.is_closed for client in clients])
        """
    )
    pytester.makepyfile("def test_it(keep): pass")
    result = run(pytester, accounts, "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*closed: [[]True[]]"])


MARKED = """
import pytest

@pytest.mark.livechat_scopes("chats--all:ro")
def test_read_chats(livechat_bearer):
    pass

@pytest.mark.livechat_scopes("chats--all:ro", "agents--all:rw", "webhooks--all:rw")
def test_needs_more(livechat_api):
    pass

@pytest.mark.livechat_scopes("chats--all:ro")
def test_without_token():
    pass
"""


def test_scope_marker(
    pytester: pytest.Pytester, accounts: AccountsServer, cache_file: Path
) -> None:
    cache_token(cache_file, accounts.url, accounts.issue())
    pytester.makepyfile(MARKED)
    result = run(pytester, accounts)
    result.assert_outcomes(passed=1, skipped=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "SKIPPED*the LiveChat token lacks the scope(s) agents--all:rw, webhooks--all:rw: add "
            "them in the app's App Authorization block, then log in again "
            "(pytest --livechat-login)",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_without_token*",
        ]
    )
    result.stdout.fnmatch_lines(
        ["*@pytest.mark.livechat_scopes needs a test that uses livechat_bearer or livechat_api."]
    )


def test_scope_marker_with_unknown_scopes_runs(
    pytester: pytest.Pytester, accounts: AccountsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIVECHAT_BEARER_TOKEN", "dal:from-the-environment")
    pytester.makepyfile(MARKED)
    run(pytester, accounts).assert_outcomes(passed=2, errors=1)


def test_marker_is_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.livechat_scopes(*scopes): skip the test unless*"])
