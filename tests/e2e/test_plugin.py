"""The pytest glue, through pytester: options, precedence, the fixture's order, the header."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from pytest_livechat_token._base.bearer import utcnow
from pytest_livechat_token._base.settings import OPTIONS, Option
from pytest_livechat_token._plugin.stash import SETTINGS
from pytest_livechat_token._store.cache import CacheEntry, TokenCache

from ..support.accounts_server import AccountsServer
from ..support.helpers import USER_TEST, cache_token, expect_token, freeze_clock

NO_BROWSER = "--livechat-no-browser"


def test_options_in_one_group_of_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["LiveChat bearer token (pytest-livechat-token):"])
    group = result.stdout.str().split("LiveChat bearer token (pytest-livechat-token):")[1]
    for flag in [o.flag for o in OPTIONS] + [NO_BROWSER, "--livechat-login"]:
        assert flag in group.split("\n\n")[0]
    for ini in [o.ini for o in OPTIONS] + ["livechat_open_browser"]:
        assert ini in result.stdout.str()
    login_help = group.split("--livechat-login")[1].split("\n\n")[0]
    assert "LIVECHAT" not in login_help, "no variable glued to another flag's help"


def test_every_variable_is_listed_once_in_help(pytester: pytest.Pytester) -> None:
    import re

    from pytest_livechat_token._base.settings import ENVIRONMENT

    out = pytester.runpytest("--help").stdout.str()
    named = re.findall(r"\bLIVECHAT_[A-Z_]+(?:<NAME>)?", out)
    expected = [name for name, _ in ENVIRONMENT] + [o.env for o in OPTIONS if o.env]
    expected.append("LIVECHAT_REQUIRE")  # with --livechat-require
    assert sorted(named) == sorted(expected), "each once, none unknown"
    section = out.split("Environment variables of pytest-livechat-token")[1]
    for name, _ in ENVIRONMENT:
        assert re.search(rf"^  {re.escape(name)} +\S", section, re.MULTILINE), name


def test_can_be_disabled(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TEST)
    result = pytester.runpytest_subprocess("-p", "no:livechat_token")
    result.stdout.fnmatch_lines(["*fixture 'livechat_bearer' not found*"])


def test_skipped_without_client_id(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TEST)
    result = pytester.runpytest_subprocess("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        [
            "*no LiveChat client id configured: pass --livechat-client-id=ID, set "
            "LIVECHAT_CLIENT_ID or ini livechat_client_id, or set LIVECHAT_BEARER_TOKEN*"
        ]
    )
    result.stdout.fnmatch_lines(["livechat: no client id configured*"])
    lines = result.stdout.lines
    summary = lines.index(next(line for line in lines if "short test summary info" in line))
    assert (
        "livechat: 1 test(s) skipped: no client id configured (--livechat-client-id, "
        "LIVECHAT_CLIENT_ID or ini livechat_client_id)"
    ) in lines[:summary], "said at the end as well as in the header"


def test_a_run_that_skips_nothing_for_it_says_nothing_at_the_end(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("def test_plain():\n    pass\n")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)
    assert not [line for line in result.stdout.lines if "test(s) skipped" in line]


def test_token_from_environment(
    pytester: pytest.Pytester,
    accounts: AccountsServer,
    monkeypatch: pytest.MonkeyPatch,
    cache_file: Path,
) -> None:
    token = "fra-a:token-from-the-environment"
    pytester.makepyfile(test_user=USER_TEST)
    monkeypatch.setenv("EXPECT_REGION", "fra-a")
    expect_token(monkeypatch, token)
    monkeypatch.setenv("LIVECHAT_BEARER_TOKEN", token)
    result = pytester.runpytest_subprocess(
        "--livechat-client-id=client-1", f"--livechat-accounts-url={accounts.url}"
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["livechat: using the token in LIVECHAT_BEARER_TOKEN"])
    assert accounts.requests == []
    assert not cache_file.exists()
    assert token not in result.stdout.str()


def test_warm_cache_needs_no_network_and_no_terminal(
    pytester: pytest.Pytester,
    accounts: AccountsServer,
    monkeypatch: pytest.MonkeyPatch,
    cache_file: Path,
) -> None:
    token = accounts.issue()
    cache_token(cache_file, accounts.url, token, now=freeze_clock(monkeypatch, pytester.path))
    expect_token(monkeypatch, token)
    pytester.makepyfile(test_user=USER_TEST)
    result = pytester.runpytest_subprocess(
        "-p",
        "frozen_clock",
        "--livechat-client-id=client-1",
        f"--livechat-accounts-url={accounts.url}",
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["livechat: client client-1, token cached, 8 h 0 min left"])
    assert accounts.requests == []


def test_no_terminal_errors_at_once(pytester: pytest.Pytester, accounts: AccountsServer) -> None:
    pytester.makepyfile(test_user=USER_TEST)
    # A prompt would wait an hour: the subprocess timeout catches any wait for input.
    result = pytester.runpytest_subprocess(
        "--livechat-client-id=client-1",
        f"--livechat-accounts-url={accounts.url}",
        "--livechat-prompt-timeout=3600",
        timeout=60,
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*No valid LiveChat token is cached for client client-1 at http://127.0.0.1:*, "
            "and this run has no terminal to log in from. Run pytest once in a terminal to log in*"
            "or set LIVECHAT_BEARER_TOKEN.",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "livechat: client client-1, no valid token cached and no terminal to log in from: "
            "tests that need one will error (set LIVECHAT_BEARER_TOKEN, or run once in a terminal)"
        ]
    )
    assert "will ask you to log in" not in result.stdout.str()
    assert "Traceback" not in result.stdout.str()
    assert "pytest_livechat_token" not in result.stdout.str()
    assert accounts.requests == []


@pytest.mark.parametrize(
    ("min_ttl", "outcome"), [("", "errors"), ("--livechat-min-ttl=60", "passed")]
)
def test_token_about_to_expire_counts_as_expired(
    pytester: pytest.Pytester,
    accounts: AccountsServer,
    monkeypatch: pytest.MonkeyPatch,
    cache_file: Path,
    min_ttl: str,
    outcome: str,
) -> None:
    token = accounts.issue()
    cache_token(cache_file, accounts.url, token, seconds=300)
    expect_token(monkeypatch, token)
    pytester.makepyfile(test_user=USER_TEST)
    args = ["--livechat-client-id=client-1", f"--livechat-accounts-url={accounts.url}"]
    result = pytester.runpytest_subprocess(*args, *([min_ttl] if min_ttl else []))
    result.assert_outcomes(**{outcome: 1})


VALUES = {
    "client_id": ("from-cli", "from-env", "from-ini", "from-cli"),
    "redirect_uri": (
        "http://localhost:1",
        "http://localhost:2",
        "http://localhost:3",
        "http://localhost:1",
    ),
    "accounts_url": (
        "https://cli.test/",
        "https://env.test",
        "https://ini.test",
        "https://cli.test",
    ),
    "token_cache": ("cli.json", "env.json", "ini.json", "cli.json"),
    "api_url": (
        "https://cli.test/v",
        "https://env.test/v/",
        "https://ini.test/v/",
        "https://cli.test/v/",
    ),
    "grant": ("code", "implicit", "code", "code"),
    "min_ttl": ("1", None, "3", 1.0),
    "prompt_timeout": ("4", None, "6", 4.0),
    "account": ("viewer", "supervisor", "owner-2", "viewer"),
    "cleanup": ("session", "off", "test", "session"),
}


@pytest.mark.parametrize("option", OPTIONS, ids=lambda option: option.name)
@pytest.mark.parametrize("layers", ["cli+env+ini", "env+ini", "ini"])
def test_precedence_through_pytest(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, option: Option, layers: str
) -> None:
    name = option.name
    cli_value, env_value, ini_value, resolved_cli = VALUES[name]
    pytester.makeini(f"[pytest]\n{option.ini} = {ini_value}\n")
    args = []
    if "cli" in layers:
        args.append(f"{option.flag}={cli_value}")
    if "env" in layers and option.env:
        monkeypatch.setenv(option.env, str(env_value))
    config = pytester.parseconfigure(*args)
    value = getattr(config.stash[SETTINGS], name)
    if layers.startswith("cli"):
        expected: object = resolved_cli
    elif "env" in layers and option.env:
        expected = env_value
    else:
        expected = ini_value
    if name == "token_cache":
        assert value == Path(str(expected))
    elif isinstance(value, float):
        assert value == float(str(expected))
    elif name == "api_url":
        assert value == expected
    else:
        assert value == str(expected).rstrip("/")


def test_ini_can_turn_the_browser_off(pytester: pytest.Pytester) -> None:
    assert pytester.parseconfigure().stash[SETTINGS].open_browser
    assert not pytester.parseconfigure(NO_BROWSER).stash[SETTINGS].open_browser
    pytester.makeini("[pytest]\nlivechat_open_browser = false\n")
    assert not pytester.parseconfigure().stash[SETTINGS].open_browser


def test_default_cache_follows_xdg(pytester: pytest.Pytester, tmp_path: Path) -> None:
    assert pytester.parseconfigure().stash[SETTINGS].token_cache == (
        tmp_path / "xdg-cache" / "pytest-livechat-token" / "tokens.json"
    )


def test_bad_setting_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nlivechat_prompt_timeout = forever\n")
    result = pytester.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: ini livechat_prompt_timeout must be a number of seconds from 0 to 86400, "
            "got 'forever'."
        ]
    )
    assert "Traceback" not in result.stderr.str()


def test_damaged_cache_is_one_warning(
    pytester: pytest.Pytester, accounts: AccountsServer, cache_file: Path
) -> None:
    cache_file.parent.mkdir(parents=True)
    cache_file.write_text('{"version": 1, "entr')
    pytester.makepyfile(test_user=USER_TEST)
    result = pytester.runpytest_subprocess(
        "--livechat-client-id=client-1", f"--livechat-accounts-url={accounts.url}", "-W", "always"
    )
    result.assert_outcomes(errors=1)
    assert "the token cache" in result.stdout.str()
    assert "is damaged (not valid JSON)" in result.stdout.str()
    assert "Traceback" not in result.stdout.str()
    # Our warnings obey the person's filters:
    ignored = pytester.runpytest_subprocess(
        "--livechat-client-id=client-1",
        f"--livechat-accounts-url={accounts.url}",
        "-W",
        "ignore::pytest_livechat_token.CacheWarning",
    )
    ignored.assert_outcomes(errors=1)
    assert "CacheWarning" not in ignored.stdout.str() + ignored.stderr.str()


def test_damaged_cache_under_w_error_is_an_error_of_one_line(
    pytester: pytest.Pytester, accounts: AccountsServer, cache_file: Path
) -> None:
    """``-W error`` turns the plugin's warnings into errors like any other warning; the test
    that needed the token errors with the warning's one line, no traceback."""
    cache_file.parent.mkdir(parents=True)
    cache_file.write_bytes(b"\x00garbage")
    pytester.makepyfile(test_user=USER_TEST)
    result = pytester.runpytest_subprocess(
        "--livechat-client-id=client-1", f"--livechat-accounts-url={accounts.url}", "-W", "error"
    )
    result.assert_outcomes(errors=1)
    out = result.stdout.str() + result.stderr.str()
    lines = result.stdout.lines
    said = lines[lines.index(next(line for line in lines if "ERROR at setup of" in line)) + 1]
    assert said.startswith("CacheWarning: the token cache")
    assert said.endswith("(a warning made an error by -W error)")
    assert "Traceback" not in out
    assert "INTERNALERROR" not in out


def test_header_does_not_show_the_token(
    pytester: pytest.Pytester, accounts: AccountsServer, cache_file: Path
) -> None:
    token = accounts.issue()
    cache_token(cache_file, accounts.url, token)
    result = pytester.runpytest_subprocess(
        "--livechat-client-id=client-1", f"--livechat-accounts-url={accounts.url}", "--co"
    )
    assert token not in result.stdout.str()
    assert token.split(":")[1][-4:] not in result.stdout.str().split("livechat:")[1].split("\n")[0]


def test_long_client_id_is_shortened(pytester: pytest.Pytester) -> None:
    client = "0123456789abcdef0123456789abcdef"
    result = pytester.runpytest_subprocess(f"--livechat-client-id={client}", "--co")
    result.stdout.fnmatch_lines(["livechat: client 01234567…, no valid token cached*"])
    assert client not in result.stdout.str()


def test_expired_time_is_aware_utc(
    pytester: pytest.Pytester,
    accounts: AccountsServer,
    monkeypatch: pytest.MonkeyPatch,
    cache_file: Path,
) -> None:
    token = accounts.issue()
    cache_token(cache_file, accounts.url, token)
    pytester.makepyfile(
        """
        from datetime import timezone
        def test_expiry(livechat_bearer):
            assert livechat_bearer.expires_at.tzinfo is not None
            assert livechat_bearer.expires_at.utcoffset().total_seconds() == 0
            assert livechat_bearer.scope == "chats--all:ro"
        """
    )
    result = pytester.runpytest_subprocess(
        "--livechat-client-id=client-1", f"--livechat-accounts-url={accounts.url}"
    )
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("args", "noted"),
    [
        (["--timeout=5", "--timeout_method=thread"], True),
        (["--timeout=5", "--timeout_method=signal"], False),
        (["--timeout_method=thread"], False),
        ([], False),
    ],
)
def test_the_login_says_what_to_do_under_a_thread_timeout(
    pytester: pytest.Pytester, args: list[str], noted: bool
) -> None:
    from pytest_livechat_token._auth.login import instructions
    from pytest_livechat_token._plugin.stash import run_of

    config = pytester.parseconfigure(*args)
    note = run_of(config).wording.login_note
    assert bool(note) == noted
    shown = instructions("https://a.test/?x", "https://x.test", opened=False, who=None, note=note)
    assert ("run `livechat-token login`" in shown) == noted


def test_header_says_when_tokens_live_less_than_min_ttl(
    pytester: pytest.Pytester, accounts: AccountsServer, cache_file: Path
) -> None:
    now = utcnow()
    entry = CacheEntry(accounts.issue(), now + timedelta(seconds=300), now - timedelta(seconds=1))
    TokenCache(cache_file).put(accounts.url, "client-1", entry)
    result = pytester.runpytest_subprocess(
        "--livechat-client-id=client-1", f"--livechat-accounts-url={accounts.url}", "--co"
    )
    result.stdout.fnmatch_lines(
        [
            "livechat: the server issues tokens for 5 min, less than --livechat-min-ttl "
            "(10 min): a token is renewed at most once a run and then used while it lasts"
        ]
    )


NO_PASSWD_ENTRY = """
import pwd

def _unknown(uid):
    raise KeyError(f"getpwuid(): uid not found: {uid}")

pwd.getpwuid = _unknown  # a container's arbitrary user id: no entry in the password database
"""

HOMELESS_SUITE = """
def test_without_token():
    pass

def test_with_token(livechat_bearer):
    pass
"""


@pytest.mark.parametrize(
    "cache", [None, "~nosuchuser-livechat/tokens.json"], ids=["no-home", "unknown-user"]
)
def test_a_cache_path_that_cannot_be_resolved_never_breaks_a_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, cache: str | None
) -> None:
    """``HOME`` unset with a user id the password database does not know, or a cache path
    naming an unknown user: no INTERNALERROR; a test without a token passes, one that needs a
    token errors in one line that says what to do; a token from the environment works."""
    monkeypatch.delenv("HOME")
    monkeypatch.delenv("XDG_CACHE_HOME")
    if cache is not None:
        monkeypatch.setenv("LIVECHAT_TOKEN_CACHE", cache)
    pytester.makeconftest(NO_PASSWD_ENTRY)
    pytester.makepyfile(test_homeless=HOMELESS_SUITE)
    result = pytester.runpytest_subprocess("--livechat-client-id=client-1")
    result.assert_outcomes(passed=1, errors=1)
    shown = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in shown
    assert "Traceback" not in shown
    what_to_do = (
        "set LIVECHAT_TOKEN_CACHE or XDG_CACHE_HOME to a full path"
        if cache is None
        else "whose ~ names no home directory here: give the token cache's full path"
    )
    lines = result.stdout.lines
    said = lines[lines.index(next(line for line in lines if "ERROR at setup of" in line)) + 1]
    assert what_to_do in said
    monkeypatch.setenv("LIVECHAT_BEARER_TOKEN", "dal:" + "HomelessToken0123456789")
    pytester.runpytest_subprocess("--livechat-client-id=client-1").assert_outcomes(passed=2)
    assert not (pytester.path / "~nosuchuser-livechat").exists()


def test_no_home_and_no_client_id_says_nothing_of_the_cache(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that does not use the plugin is not told anything about a cache it never needs."""
    monkeypatch.delenv("HOME")
    monkeypatch.delenv("XDG_CACHE_HOME")
    pytester.makeconftest(NO_PASSWD_ENTRY)
    pytester.makepyfile("def test_plain():\n    pass\n")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)
    shown = result.stdout.str() + result.stderr.str()
    assert "token cache" not in shown
    assert "home directory" not in shown
