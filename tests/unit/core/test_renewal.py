"""``renewal.renew`` and the accounts server's contract for renewals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_livechat_token import RenewalWarning
from pytest_livechat_token._base.bearer import utcnow
from pytest_livechat_token._base.errors import (
    NoTerminal,
)
from pytest_livechat_token._core.obtain import TokenSource
from pytest_livechat_token._core.renewal import renew
from pytest_livechat_token._store.cache import TokenCache

from ...support.accounts_server import AccountsServer
from ...support.inprocess import (
    logout,
    rotated_pair,
    source_for,
)


def test_a_rate_limited_renewal_waits_as_asked_once(
    accounts: AccountsServer, tmp_path: Path
) -> None:
    cache = TokenCache(tmp_path / "cache" / "tokens.json")
    rotated_pair(accounts, cache)
    entry = cache.get(accounts.url, "client-1")
    assert entry is not None
    accounts.rate_limited, accounts.retry_after = 1, "7"
    waited: list[float] = []
    renewed = renew(accounts.url, "client-1", entry, now=utcnow, sleep=waited.append)
    assert waited == [7.0]
    assert renewed.access_token in accounts.tokens
    assert accounts.count("POST", "/v2/token") == 2


@pytest.mark.parametrize("retry_after", [None, "3600"])
def test_a_rate_limited_renewal_keeps_the_refresh_token(
    accounts: AccountsServer, tmp_path: Path, retry_after: str | None
) -> None:
    path = tmp_path / "cache" / "tokens.json"
    refresh = rotated_pair(accounts, TokenCache(path), lifetime=300)  # stale, not expired
    accounts.rate_limited, accounts.retry_after = 5, retry_after
    source = source_for(accounts, path, None, grant="code")
    with pytest.warns(
        RenewalWarning, match="HTTP 429: temporarily_unavailable.*the cached pair is kept"
    ):
        token = source.token()
    assert accounts.count("POST", "/v2/token") == 1
    entry = TokenCache(path).get(accounts.url, "client-1")
    assert entry is not None
    assert entry.refresh_token == refresh
    assert token == entry.access_token


def assert_dropped(source: TokenSource, path: Path, said: str) -> None:
    """The renewal is refused (a warning that says ``said``), nobody can be asked, and the
    refresh token is gone from the cache: the next run does not fail the same way."""
    with pytest.warns(RenewalWarning, match=said), pytest.raises(NoTerminal):
        source.token()
    entry = TokenCache(path).get(source.run.settings.accounts_url, "client-1")
    assert entry is not None
    assert entry.refresh_token is None


def test_a_refused_refresh_token_is_dropped(accounts: AccountsServer, tmp_path: Path) -> None:
    path = tmp_path / "cache" / "tokens.json"
    rotated_pair(accounts, TokenCache(path))
    accounts.refresh_tokens.clear()  # the server forgot it: invalid_grant
    source = source_for(accounts, path, None, grant="code")
    assert_dropped(source, path, "HTTP 401: invalid_grant")


def test_tokens_shorter_than_min_ttl_are_renewed_once_a_run(
    accounts: AccountsServer, tmp_path: Path
) -> None:
    accounts.access_expires_in = 300  # shorter than the default min-ttl of 600 s
    path = tmp_path / "cache" / "tokens.json"
    rotated_pair(accounts, TokenCache(path))
    workers = [source_for(accounts, path, None, grant="code") for _ in range(4)]
    tokens = {str(worker.token()) for worker in workers for _ in range(3)}
    assert accounts.refresh_calls == 1
    assert len(tokens) == 1


def test_logout_revokes_a_refresh_token_whose_access_token_is_gone(
    accounts: AccountsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cache" / "tokens.json"
    refresh = rotated_pair(accounts, TokenCache(path))
    entry = TokenCache(path).get(accounts.url, "client-1")
    assert entry is not None
    accounts.tokens[entry.access_token].revoked = True
    code, err = logout(accounts, path, capsys)
    assert code == 0
    assert "the access token was no longer valid at LiveChat" in err
    assert "the refresh token was revoked at LiveChat" in err
    assert refresh not in accounts.refresh_tokens
    assert accounts.count("DELETE", "/v2/token") == 2


def test_an_answer_without_a_refresh_token_keeps_the_old_one(
    accounts: AccountsServer, tmp_path: Path
) -> None:
    """A server-side app's refresh tokens do not rotate: the answer carries none, and the old
    one, which still works, is kept (RFC 6749 section 6) and renews again later."""
    path = tmp_path / "cache" / "tokens.json"
    refresh = rotated_pair(accounts, TokenCache(path))
    accounts.rotate = False
    first = source_for(accounts, path, None, grant="code").token()
    entry = TokenCache(path).get(accounts.url, "client-1")
    assert entry is not None
    assert entry.access_token == first
    assert entry.refresh_token == refresh
    TokenCache(path).put(accounts.url, "client-1", entry._replace(expires_at=utcnow()))
    second = source_for(accounts, path, None, grant="code").token()
    assert second != first
    assert accounts.refresh_calls == 2


@pytest.mark.parametrize("error", ["unauthorized_client", "invalid_client", "missing_grant"])
def test_a_refusal_by_name_drops_the_refresh_token_whatever_the_status(
    accounts: AccountsServer, tmp_path: Path, error: str
) -> None:
    """Authorization > OAuth 2.1, Errors: these names mean the refresh token is no good (a 400
    or a 422 as well as a 401): it is dropped, never kept to fail every later run."""
    path = tmp_path / "cache" / "tokens.json"
    rotated_pair(accounts, TokenCache(path))
    body = json.dumps({"error": error, "error_description": "x"}).encode()
    accounts.fixed[("POST", "/v2/token")] = (400, body, {})
    source = source_for(accounts, path, None, grant="code")
    assert_dropped(source, path, f"HTTP 400: {error}")


def test_a_server_side_refresh_token_livechat_no_longer_has_is_dropped(
    accounts: AccountsServer, tmp_path: Path
) -> None:
    """A server-side app (a client secret, no rotation) whose refresh token was revoked:
    LiveChat answers unauthorized_client, "refresh token not found" (Troubleshooting), the
    name a wrong secret has too. It is dropped, once, with what happened; a wrong secret is
    still said to be one and drops nothing (tests/e2e/test_ci.py)."""
    accounts.client_secrets["client-1"] = "the-secret-0123456789"
    path = tmp_path / "cache" / "tokens.json"
    rotated_pair(accounts, TokenCache(path))
    accounts.refresh_tokens.clear()  # revoked by a logout elsewhere, or the 26th token
    environ = {"LIVECHAT_CLIENT_SECRET": "the-secret-0123456789"}
    source = source_for(accounts, path, None, grant="code", environ=environ)
    assert_dropped(source, path, "LiveChat no longer has this refresh token")
