"""CI with no person: a server-side app's client secret and refresh token in the environment,
``--livechat-require``, and ``livechat-token refresh-token`` for the secret store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ..support.accounts_server import AccountsServer
from ..support.helpers import cache_pair

SECRET = "server-side-client-secret-0123456789"
SUITE = "\n".join(
    f"def test_{n}(livechat_bearer):\n    assert livechat_bearer.region == 'dal'\n"
    for n in range(4)
)


@pytest.fixture
def server_side(accounts: AccountsServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """client-1 is a server-side app: its secret in LIVECHAT_CLIENT_SECRET, one of its refresh
    tokens in LIVECHAT_REFRESH_TOKEN (its access token long expired, nothing cached)."""
    accounts.client_secrets["client-1"] = SECRET
    refresh = str(accounts.pair()["refresh_token"])
    monkeypatch.setenv("LIVECHAT_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("LIVECHAT_REFRESH_TOKEN", refresh)
    return refresh


def run(pytester: pytest.Pytester, accounts: AccountsServer, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "--livechat-client-id=client-1", f"--livechat-accounts-url={accounts.url}", *args
    )


def shown(result: pytest.RunResult) -> str:
    return result.stdout.str() + result.stderr.str()


def test_a_server_side_refresh_token_serves_four_workers_with_one_renewal(
    pytester: pytest.Pytester, accounts: AccountsServer, cache_file: Path, server_side: str
) -> None:
    """No terminal, no cache: the controller renews once from the variable and hands the token
    to its four workers; the next run takes it from the cache. The refresh token does not
    rotate, so the variable keeps working; neither secret is printed."""
    pytester.makepyfile(test_ci=SUITE)
    first = run(pytester, accounts, "-n", "4")
    first.assert_outcomes(passed=4)
    assert accounts.refresh_calls == 1
    assert "renewed from LIVECHAT_REFRESH_TOKEN when next needed" in first.stdout.str()
    entry = json.loads(cache_file.read_text())["entries"][accounts.url]["client-1"]["default"]
    assert entry["refresh_token"] == server_side
    assert entry["access_token"] in accounts.tokens
    second = run(pytester, accounts, "-n", "4")
    second.assert_outcomes(passed=4)
    assert accounts.refresh_calls == 1, "the next run takes the renewed token from the cache"
    for result in (first, second):
        assert SECRET not in shown(result)
        assert server_side not in shown(result)
        assert entry["access_token"] not in shown(result)


def test_a_named_accounts_refresh_token(
    pytester: pytest.Pytester,
    accounts: AccountsServer,
    server_side: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LIVECHAT_REFRESH_TOKEN")
    monkeypatch.setenv("LIVECHAT_REFRESH_TOKEN_SUPERVISOR", server_side)
    pytester.makepyfile(
        "def test_supervisor(livechat_bearer_for):\n"
        "    assert livechat_bearer_for('supervisor').account == 'supervisor'\n"
    )
    run(pytester, accounts).assert_outcomes(passed=1)
    assert accounts.refresh_calls == 1


def test_a_wrong_client_secret_is_one_line_that_names_it(
    pytester: pytest.Pytester,
    accounts: AccountsServer,
    server_side: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LIVECHAT_CLIENT_SECRET", "not-the-secret-of-this-app")
    pytester.makepyfile(test_ci=SUITE)
    result = run(pytester, accounts)
    result.assert_outcomes(errors=4)
    result.stdout.fnmatch_lines(
        ["*the client id or its secret was not accepted. Check LIVECHAT_CLIENT_SECRET*"]
    )
    assert "Traceback" not in shown(result)
    assert "not-the-secret-of-this-app" not in shown(result)
    assert server_side in accounts.refresh_tokens, "the refresh token is not dropped"


def test_a_rotating_refresh_token_in_the_variable_is_said_plainly(
    pytester: pytest.Pytester,
    accounts: AccountsServer,
    cache_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A web app's refresh token rotates: after the renewal the variable is spent, and the run
    says so and where the new one is (never a silent loss)."""
    old = str(accounts.pair()["refresh_token"])
    monkeypatch.setenv("LIVECHAT_REFRESH_TOKEN", old)
    pytester.makepyfile(test_ci=SUITE)
    result = run(pytester, accounts)
    result.assert_outcomes(passed=4)
    said = " ".join(shown(result).split())
    assert "LIVECHAT_REFRESH_TOKEN held a rotating refresh token" in said
    # (The command's name is masked here: the test server's refresh tokens all start with
    # "refresh-", a piece as long as the pieces of a secret the masking hides.)
    assert "prints it for your secret store" in said
    entry = json.loads(cache_file.read_text())["entries"][accounts.url]["client-1"]["default"]
    assert entry["refresh_token"] != old
    assert entry["refresh_token"] in accounts.refresh_tokens
    assert old not in shown(result)


@pytest.mark.parametrize(
    ("how", "outcome"),
    [
        ([], "skipped"),
        (["--livechat-require"], "failed"),
        (["-o", "livechat_require=true"], "failed"),
    ],
    ids=["skip", "flag", "ini"],
)
def test_livechat_require_fails_what_would_be_skipped(
    pytester: pytest.Pytester, how: list[str], outcome: str
) -> None:
    pytester.makepyfile("def test_needs(livechat_bearer):\n    pass\n")
    result = pytester.runpytest_subprocess(*how)
    outcomes = result.parseoutcomes()
    assert outcomes.get("skipped" if outcome == "skipped" else "errors") == 1, outcomes
    if outcome == "failed":
        result.stdout.fnmatch_lines(["*no LiveChat client id configured*--livechat-require*"])
        assert "Traceback" not in shown(result)


def test_livechat_require_from_the_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIVECHAT_REQUIRE", "1")
    pytester.makepyfile("def test_needs(livechat_bearer):\n    pass\n")
    pytester.runpytest_subprocess().assert_outcomes(errors=1)
    monkeypatch.setenv("LIVECHAT_REQUIRE", "maybe")
    refused = pytester.runpytest_subprocess()
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    assert "LIVECHAT_REQUIRE must be 1 or 0" in refused.stderr.str()


def test_refresh_token_prints_the_cached_one_alone(
    accounts: AccountsServer, cache_file: Path
) -> None:
    command = [
        sys.executable,
        "-m",
        "pytest_livechat_token",
        "refresh-token",
        "--client-id=client-1",
    ]
    settings = [f"--accounts-url={accounts.url}"]
    nothing = subprocess.run(
        [*command, *settings], capture_output=True, text=True, timeout=60, check=False
    )
    assert nothing.returncode == 1
    assert "no refresh token cached" in nothing.stderr
    assert "livechat-token login --grant=code" in nothing.stderr
    pair = cache_pair(cache_file, accounts, account="default", account_id="acc-1")
    printed = subprocess.run(
        [*command, *settings], capture_output=True, text=True, timeout=60, check=False
    )
    assert printed.returncode == 0
    assert printed.stdout == f"{pair['refresh_token']}\n"
    assert printed.stderr == ""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_dev_null_is_no_cache_said_once_in_the_header(
    pytester: pytest.Pytester,
    accounts: AccountsServer,
    server_side: str,
    monkeypatch: pytest.MonkeyPatch,
    workers: list[str],
) -> None:
    """``LIVECHAT_TOKEN_CACHE=/dev/null``, the usual "no cache" of a CI container: said once in
    the header, never as a warning; the renewed token is used for the run and handed to the
    workers (one renewal); the device stays a device, and nothing is put beside it."""
    monkeypatch.setenv("LIVECHAT_TOKEN_CACHE", "/dev/null")
    pytester.makepyfile(test_ci=SUITE)
    result = run(pytester, accounts, "-W", "error::UserWarning", *workers)
    result.assert_outcomes(passed=4)
    assert accounts.refresh_calls == 1
    header = [line for line in result.stdout.lines if line.startswith("livechat:")]
    assert "livechat: no token cache (/dev/null is a device)" in header
    assert "warning" not in shown(result).lower()
    assert Path("/dev/null").is_char_device()
    assert not list(Path("/dev").glob("null.*"))
