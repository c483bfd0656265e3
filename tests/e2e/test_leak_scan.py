"""The token occurs nowhere in what a run prints or writes, outside the cache itself.

A suite that uses the fixture and fails on purpose, run in a pseudo-terminal with a login and
with every verbose option, then the CLI's status: every byte shown and every file written is
searched for the token, raw and URL-encoded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import httpx
import pexpect
import pytest

from ..support.accounts_server import AccountsServer
from ..support.helpers import Spawner, outcomes, paste, read_login_url

FAILING_SUITE = """
import pytest

def test_compares_the_token(livechat_bearer):
    expected = "dal:something-else"
    assert livechat_bearer == expected

def test_compares_with_its_own_value(livechat_bearer):
    assert livechat_bearer != str(livechat_bearer)

def test_token_in_a_container(livechat_bearer):
    tokens = {"token": livechat_bearer, "list": [livechat_bearer]}
    assert tokens == {}

def test_raises_with_token_in_locals(livechat_bearer):
    token = livechat_bearer
    raise RuntimeError("boom")

def test_api_client(livechat_api):
    response = livechat_api.post("configuration/action/list_groups", json={})
    assert response.status_code == 418

@pytest.mark.livechat_scopes("webhooks--all:rw")
def test_missing_scope(livechat_bearer):
    pass

def test_passes(livechat_bearer):
    assert livechat_bearer.region == "dal"
"""


@pytest.mark.parametrize("grant", ["implicit", "code"])
def test_the_token_appears_nowhere(
    pytester: pytest.Pytester,
    terminal: Spawner,
    accounts: AccountsServer,
    cache_file: Path,
    grant: str,
) -> None:
    pytester.makepyfile(test_leaky=FAILING_SUITE)
    child = terminal.spawn(
        "-l",
        "-vv",
        "--tb=long",
        "--setup-show",
        "-rA",
        "--junitxml=report.xml",
        "--debug=debug.log",
        "--log-level=DEBUG",
        "-o",
        "log_cli=true",
        f"--livechat-api-url={accounts.url}/v3.6/",
        f"--livechat-grant={grant}",
        timeout=60,
    )
    url, state = read_login_url(child)
    child.expect("Paste the address")
    if grant == "code":
        child.sendline(httpx.get(url, follow_redirects=False).headers["Location"])
    else:
        paste(child, accounts.issue(), state)
    child.expect(pexpect.EOF)
    shown = terminal.transcript()
    assert outcomes(shown) == {"failed": 5, "passed": 1, "skipped": 1}, shown[-2000:]
    assert "BearerToken('dal:…" in shown  # the failures do show the masked token

    status = subprocess.run(
        [sys.executable, "-m", "pytest_livechat_token", "status"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "client-1" in status.stdout
    shown += status.stdout + status.stderr

    stored = json.loads(cache_file.read_text())["entries"][accounts.url]["client-1"]["default"]
    secrets = [stored["access_token"]] + ([stored["refresh_token"]] if grant == "code" else [])
    forms = {form for secret in secrets for form in (secret, quote(secret, safe=""), secret[4:])}
    for form in forms:
        assert form not in shown
    written = [
        path
        for path in pytester.path.rglob("*")
        if path.is_file() and not path.name.startswith(cache_file.name)
    ]
    assert {"report.xml", "debug.log"} <= {path.name for path in written}
    for path in written:
        content = path.read_bytes()
        for form in forms:
            assert form.encode() not in content, f"a token is in {path}"


def test_reprs_hold_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    import queue
    from datetime import datetime, timezone

    from pytest_livechat_token import BearerToken
    from pytest_livechat_token._auth.authorize import Grant
    from pytest_livechat_token._auth.login import LoginResult
    from pytest_livechat_token._auth.loopback import Answer
    from pytest_livechat_token._auth.oauth import TokenResponse
    from pytest_livechat_token._base.settings import Settings
    from pytest_livechat_token._core.obtain import source_of
    from pytest_livechat_token._core.run import Run
    from pytest_livechat_token._store.cache import CacheEntry

    secret, refresh = "dal:SECRETSECRETSECRET", "dal:REFRESHREFRESH"
    now = datetime.now(timezone.utc)
    monkeypatch.setenv("LIVECHAT_BEARER_TOKEN", secret)
    import os

    shown = [
        source_of(
            Run(
                Settings(token_cache=Path("t.json"), client_id="c"),
                os.environ,
                interactive=False,
                handed={"accounts": {"default": {"token": secret}}},
            )
        ),
        Grant(secret),
        CacheEntry(secret, now, now, refresh_token=refresh),
        TokenResponse(secret, refresh, 1, None),
        LoginResult(BearerToken(secret), refresh),
        Answer(f"access_token={secret}", queue.Queue()),
    ]
    for thing in shown:
        assert "SECRET" not in repr(thing)
        assert "REFRESH" not in repr(thing)
