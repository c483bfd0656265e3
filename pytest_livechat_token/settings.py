"""The plugin's settings and their precedence: command line > environment > ini > default. Pure."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigError

DEFAULT_ACCOUNTS_URL = "https://accounts.livechat.com"
DEFAULT_REDIRECT_URI = "https://localhost"
DEFAULT_API_URL = "https://api.livechatinc.com/v3.6/"
DEFAULT_MIN_TTL = 600.0
DEFAULT_PROMPT_TIMEOUT = 300.0
TOKEN_ENV = "LIVECHAT_BEARER_TOKEN"
GRANTS = ("implicit", "code")


@dataclass(frozen=True)
class Option:
    """One setting: its flag, environment variable and ini key (where it has them)."""

    name: str
    flag: str
    env: str | None
    ini: str
    help: str
    metavar: str


OPTIONS = (
    Option(
        "client_id",
        "--livechat-client-id",
        "LIVECHAT_CLIENT_ID",
        "livechat_client_id",
        "Client Id of your LiveChat app (Developer Console, App Authorization block).",
        "ID",
    ),
    Option(
        "redirect_uri",
        "--livechat-redirect-uri",
        "LIVECHAT_REDIRECT_URI",
        "livechat_redirect_uri",
        f"Redirect URI registered in the app, exactly (default {DEFAULT_REDIRECT_URI}).",
        "URI",
    ),
    Option(
        "accounts_url",
        "--livechat-accounts-url",
        "LIVECHAT_ACCOUNTS_URL",
        "livechat_accounts_url",
        f"LiveChat accounts server (default {DEFAULT_ACCOUNTS_URL}).",
        "URL",
    ),
    Option(
        "token_cache",
        "--livechat-token-cache",
        "LIVECHAT_TOKEN_CACHE",
        "livechat_token_cache",
        "Token cache file (default: tokens.json in the user cache dir, pytest-livechat-token/).",
        "PATH",
    ),
    Option(
        "api_url",
        "--livechat-api-url",
        "LIVECHAT_API_URL",
        "livechat_api_url",
        f"Base URL of the livechat_api client (default {DEFAULT_API_URL}).",
        "URL",
    ),
    Option(
        "grant",
        "--livechat-grant",
        "LIVECHAT_GRANT",
        "livechat_grant",
        "OAuth grant of the login: implicit (default; asked again every 8 hours) or code "
        "(PKCE, with a refresh token: renewed silently).",
        "{implicit,code}",
    ),
    Option(
        "min_ttl",
        "--livechat-min-ttl",
        None,
        "livechat_min_ttl",
        "A cached token with fewer seconds left than this counts as expired (default 600).",
        "SECONDS",
    ),
    Option(
        "prompt_timeout",
        "--livechat-prompt-timeout",
        None,
        "livechat_prompt_timeout",
        "Seconds to wait for the pasted address at the login prompt (default 300).",
        "SECONDS",
    ),
)


@dataclass(frozen=True)
class Settings:
    client_id: str | None = None
    redirect_uri: str = DEFAULT_REDIRECT_URI
    accounts_url: str = DEFAULT_ACCOUNTS_URL
    token_cache: Path = Path("tokens.json")
    api_url: str = DEFAULT_API_URL
    grant: str = "implicit"
    min_ttl: float = DEFAULT_MIN_TTL
    prompt_timeout: float = DEFAULT_PROMPT_TIMEOUT
    open_browser: bool = True

    def handed_to_workers(self) -> dict[str, Any]:
        """What a controller hands its xdist workers: all but the cache path, which is per host."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name != "token_cache"
        }

    def with_handed(self, handed: Mapping[str, Any]) -> Settings:
        names = {f.name for f in dataclasses.fields(self)} - {"token_cache"}
        return dataclasses.replace(self, **{k: v for k, v in handed.items() if k in names})


def shorten(client_id: str) -> str:
    """A client id as we show it: enough to recognise, not the whole."""
    return client_id if len(client_id) <= 12 else f"{client_id[:8]}…"


def default_cache_path(
    env: Mapping[str, str], home: PurePath, platform: str = sys.platform
) -> Path:
    """Where the cache lives when nothing says otherwise (XDG on POSIX, LOCALAPPDATA on Windows)."""
    if platform == "win32":
        base = env.get("LOCALAPPDATA") or str(home / "AppData" / "Local")
    else:
        base = env.get("XDG_CACHE_HOME") or str(home / ".cache")
    return Path(base) / "pytest-livechat-token" / "tokens.json"


def _pick(
    option: Option, cli: Mapping[str, Any], env: Mapping[str, str], ini: Mapping[str, Any]
) -> tuple[str, str] | None:
    """The first value set for ``option``, and where it came from, by precedence."""
    value = cli.get(option.name)
    if value is not None:
        return str(value), option.flag
    if option.env and env.get(option.env):
        return env[option.env], option.env
    value = ini.get(option.name)
    if value not in (None, ""):
        return str(value), f"ini {option.ini}"
    return None


def _seconds(raw: str, source: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise ConfigError(f"{source} must be a number of seconds (0 or more), got {raw!r}.")
    return value


def _http_url(raw: str, source: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{source} must be an http:// or https:// address, got {raw!r}.")
    return raw


def resolve(
    cli: Mapping[str, Any],
    env: Mapping[str, str],
    ini: Mapping[str, Any],
    *,
    home: PurePath,
    platform: str = sys.platform,
) -> Settings:
    """Settings from the command line (``cli``), the environment and the ini file, by precedence.

    ``cli`` and ``ini`` map option names to values, None (or "") where unset; ``ini`` also
    carries ``open_browser`` (a bool), and ``cli`` may carry ``no_browser``.
    """
    picked = {option.name: _pick(option, cli, env, ini) for option in OPTIONS}
    values: dict[str, Any] = {}
    if (client := picked["client_id"]) is not None:
        values["client_id"] = client[0].strip() or None
    if (redirect := picked["redirect_uri"]) is not None:
        values["redirect_uri"] = _http_url(*redirect)
    if (accounts := picked["accounts_url"]) is not None:
        values["accounts_url"] = _http_url(*accounts).rstrip("/")
    if (api := picked["api_url"]) is not None:
        values["api_url"] = _http_url(*api).rstrip("/") + "/"
    if (grant := picked["grant"]) is not None:
        if grant[0] not in GRANTS:
            raise ConfigError(f"{grant[1]} must be one of {', '.join(GRANTS)}, got {grant[0]!r}.")
        values["grant"] = grant[0]
    cache = picked["token_cache"]
    values["token_cache"] = (
        Path(cache[0]).expanduser() if cache else default_cache_path(env, home, platform)
    )
    for name in ("min_ttl", "prompt_timeout"):
        if (seconds := picked[name]) is not None:
            values[name] = _seconds(*seconds)
    values["open_browser"] = (
        not cli.get("no_browser") and ini.get("open_browser", True) is not False
    )
    return Settings(**values)
