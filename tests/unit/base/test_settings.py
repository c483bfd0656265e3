"""Settings and their precedence: command line > environment > ini > default. Pure."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_livechat_token._base.errors import ConfigError
from pytest_livechat_token._base.settings import (
    ACCOUNT_RULE,
    OPTIONS,
    Settings,
    default_cache_path,
    is_account_name,
    resolve,
)

HOME = PurePosixPath("/home/ada")


def settings(
    cli: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    ini: dict[str, Any] | None = None,
) -> Settings:
    return resolve(cli or {}, env or {}, ini or {}, home=HOME, platform="linux")


def test_defaults() -> None:
    assert settings() == Settings(
        client_id=None,
        redirect_uri="https://localhost",
        accounts_url="https://accounts.livechat.com",
        token_cache=Path("/home/ada/.cache/pytest-livechat-token/tokens.json"),
        api_url="https://api.livechatinc.com/v3.6/",
        grant="implicit",
        min_ttl=600,
        prompt_timeout=300,
        open_browser=True,
    )


VALUES = {
    "client_id": ("cli-id", "env-id", "ini-id"),
    "redirect_uri": ("http://localhost:1", "http://localhost:2", "http://localhost:3"),
    "accounts_url": ("https://cli.test", "https://env.test", "https://ini.test"),
    "token_cache": ("/cli/t.json", "/env/t.json", "/ini/t.json"),
    "api_url": ("https://cli.test/v/", "https://env.test/v/", "https://ini.test/v/"),
    "grant": ("code", "implicit", "code"),
    "min_ttl": ("1", "2", "3"),
    "prompt_timeout": ("4", "5", "6"),
    "account": ("cli-user", "env-user", "ini-user"),
    "cleanup": ("session", "off", "test"),
}


@pytest.mark.parametrize("option", OPTIONS, ids=lambda option: option.name)
def test_precedence(option: Any) -> None:
    cli_value, env_value, ini_value = VALUES[option.name]
    env = {option.env: env_value} if option.env else {}
    expected_below_cli = env_value if option.env else ini_value

    def picked(result: Settings) -> str:
        value = getattr(result, option.name)
        return str(int(value)) if isinstance(value, float) else str(value)

    everything = settings({option.name: cli_value}, env, {option.name: ini_value})
    assert picked(everything) == cli_value
    assert picked(settings({}, env, {option.name: ini_value})) == expected_below_cli
    assert picked(settings({}, {}, {option.name: ini_value})) == ini_value


def test_empty_values_count_as_unset() -> None:
    result = settings({}, {"LIVECHAT_CLIENT_ID": ""}, {"client_id": ""})
    assert result.client_id is None


def test_browser_switches() -> None:
    assert not settings({"no_browser": True}).open_browser
    assert not settings({}, {}, {"open_browser": False}).open_browser
    assert settings({"no_browser": False}, {}, {"open_browser": True}).open_browser


def test_api_url_ends_with_a_slash() -> None:
    assert settings({"api_url": "http://127.0.0.1:1/v3.6"}).api_url == "http://127.0.0.1:1/v3.6/"


def test_trailing_slash_of_accounts_url_is_dropped() -> None:
    assert settings({"accounts_url": "https://accounts.livechat.com/"}).accounts_url == (
        "https://accounts.livechat.com"
    )


def test_cache_path_expands_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert settings({"token_cache": "~/t.json"}).token_cache == tmp_path / "t.json"


def no_home() -> PurePosixPath:
    raise RuntimeError("Could not determine home directory.")


def test_no_home_directory_is_no_error_until_the_cache_is_used() -> None:
    """``HOME`` unset and a user id with no passwd entry (a container's arbitrary uid):
    ``Path.home()`` raises; the settings resolve all the same, and say what to do."""
    settings = resolve({}, {}, {}, home=no_home, platform="linux")
    assert settings.cache_problem is not None
    assert "set LIVECHAT_TOKEN_CACHE or XDG_CACHE_HOME" in settings.cache_problem
    given = resolve({}, {"XDG_CACHE_HOME": "/x"}, {}, home=no_home, platform="linux")
    assert given.cache_problem is None, "home is asked for only when it is needed"
    assert given.token_cache == Path("/x/pytest-livechat-token/tokens.json")
    named = resolve({}, {"LIVECHAT_TOKEN_CACHE": "/c/t.json"}, {}, home=no_home)
    assert (named.token_cache, named.cache_problem) == (Path("/c/t.json"), None)


def test_an_unknown_user_in_the_cache_path_is_said_when_it_is_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    from pytest_livechat_token._base.bearer import utcnow
    from pytest_livechat_token._store.cache import CacheEntry, TokenCache

    raw = "~nosuchuser-livechat/x.json"
    settings = resolve({}, {"LIVECHAT_TOKEN_CACHE": raw}, {}, home=HOME)
    assert settings.token_cache == Path(raw)
    assert settings.cache_problem == (
        f"LIVECHAT_TOKEN_CACHE is {raw!r}, whose ~ names no home directory here: give the "
        "token cache's full path."
    )
    cache = TokenCache(settings.token_cache, unresolved=settings.cache_problem)
    with pytest.raises(ConfigError, match="whose ~ names no home directory"):
        cache.entries()
    with pytest.raises(ConfigError, match="whose ~ names no home directory"):
        cache.put("u", "c", CacheEntry("dal:abcdefgh-1234", utcnow(), utcnow()))
    assert not Path(raw.split("/", maxsplit=1)[0]).exists(), "nothing made where ~ was not"


def test_default_cache_paths() -> None:
    assert default_cache_path({"XDG_CACHE_HOME": "/x"}, HOME, "linux") == Path(
        "/x/pytest-livechat-token/tokens.json"
    )
    assert default_cache_path({}, HOME, "darwin") == Path(
        "/home/ada/.cache/pytest-livechat-token/tokens.json"
    )
    windows_home = PureWindowsPath("C:/Users/ada")
    assert default_cache_path({"LOCALAPPDATA": "C:/L"}, windows_home, "win32") == Path(
        "C:/L/pytest-livechat-token/tokens.json"
    )
    assert PureWindowsPath(default_cache_path({}, windows_home, "win32")) == PureWindowsPath(
        "C:/Users/ada/AppData/Local/pytest-livechat-token/tokens.json"
    )


@pytest.mark.parametrize(
    ("cli", "env", "ini", "message"),
    [
        (
            {"min_ttl": "soon"},
            {},
            {},
            "--livechat-min-ttl must be a number of seconds from 0 to 86400, got 'soon'",
        ),
        (
            {},
            {},
            {"prompt_timeout": "-1"},
            "ini livechat_prompt_timeout must be a number of seconds",
        ),
        ({"prompt_timeout": "nan"}, {}, {}, "--livechat-prompt-timeout must be a number"),
        ({"prompt_timeout": "inf"}, {}, {}, "--livechat-prompt-timeout must be a number"),
        (
            {},
            {"LIVECHAT_ACCOUNTS_URL": "accounts.livechat.com"},
            {},
            "LIVECHAT_ACCOUNTS_URL must be an https:// (or loopback http://) address",
        ),
        (
            {"accounts_url": "http://accounts.example.com"},
            {},
            {},
            "--livechat-accounts-url must use https:// (http:// is only for 127.0.0.1, ::1 or "
            "localhost), got 'http://accounts.example.com'",
        ),
        (
            {},
            {},
            {"api_url": "http://10.0.0.1/v3.6/"},
            "ini livechat_api_url must use https://",
        ),
        ({"accounts_url": "https://127.0.0.1:abc"}, {}, {}, "--livechat-accounts-url is not a"),
        ({"accounts_url": "http://[::1"}, {}, {}, "--livechat-accounts-url is not a usable"),
        ({"api_url": "https://a..b/"}, {}, {}, "--livechat-api-url is not a usable address"),
        ({"prompt_timeout": "1e10"}, {}, {}, "--livechat-prompt-timeout must be a number"),
        ({"client_id": "abc\x1b[2J"}, {}, {}, "--livechat-client-id must be a client id"),
        (
            {"token_cache": "a\x00b"},
            {},
            {},
            "--livechat-token-cache must be a file path, got ",
        ),
        *(
            ({"redirect_uri": uri}, {}, {}, "--livechat-redirect-uri must have no query (?)")
            for uri in ("https://localhost/?a=1", "https://localhost/#x", "https://l/a/../b")
        ),
        *(
            ({"client_id": placeholder}, {}, {}, "--livechat-client-id is the placeholder")
            for placeholder in ("YOUR_CLIENT_ID", "<your_client_id>", "ID")
        ),
        (
            {"redirect_uri": "localhost"},
            {},
            {},
            "--livechat-redirect-uri must be an http:// or https:// address",
        ),
        (
            {},
            {"LIVECHAT_GRANT": "password"},
            {},
            "LIVECHAT_GRANT must be one of implicit, code, got 'password'",
        ),
    ],
)
def test_bad_values_say_which_setting(
    cli: dict[str, Any], env: dict[str, str], ini: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        settings(cli, env, ini)
    assert str(raised.value).startswith(message)


@given(st.text(max_size=40) | st.from_regex(ACCOUNT_RULE, fullmatch=True))
def test_an_account_name_is_what_the_rule_says(name: str) -> None:
    assert is_account_name(name) == (re.fullmatch(ACCOUNT_RULE, name) is not None)
