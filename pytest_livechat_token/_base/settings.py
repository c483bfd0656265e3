"""The plugin's settings and their precedence: command line > environment > ini > default. Pure."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path, PurePath
from typing import Any, Literal, NamedTuple, TypeVar
from urllib.parse import urlsplit

from .errors import ConfigError, printable

DEFAULT_ACCOUNTS_URL = "https://accounts.livechat.com"
DEFAULT_REDIRECT_URI = "https://localhost"
DEFAULT_API_URL = "https://api.livechatinc.com/v3.6/"
DEFAULT_MIN_TTL = 600.0
DEFAULT_PROMPT_TIMEOUT = 300.0
TOKEN_ENV = "LIVECHAT_BEARER_TOKEN"
REFRESH_ENV = "LIVECHAT_REFRESH_TOKEN"
CLIENT_SECRET_ENV = "LIVECHAT_CLIENT_SECRET"
"""Environment only, never a flag: a command line is visible to the machine's other users."""
PAT_ENV = "LIVECHAT_PAT"
ORGANIZATION_ENV = "LIVECHAT_ORGANIZATION_ID"
"""With ``LIVECHAT_PAT``: the organization a bot's token is issued in (a PAT does not say it)."""
REQUIRE_ENV = "LIVECHAT_REQUIRE"
CI_RUNNERS = ("GITHUB_ACTIONS", "TF_BUILD", "BUILDKITE")
"""The variables of the CI runners that mask the values a process registers (``_auth.runner``):
checked at every start-up, so the runner module is imported only under one of them."""
DEFAULT_ACCOUNT = "default"
ACCOUNT_RULE = "[a-z0-9][a-z0-9_-]{0,31}"
"""What an account name is: lower-case letters, digits, ``_`` and ``-``, 1 to 32 of them."""
Grant = Literal["implicit", "code"]
GRANTS: tuple[Grant, ...] = ("implicit", "code")
When = Literal["test", "session", "off"]
CLEANUPS: tuple[When, ...] = ("test", "session", "off")
MAX_SECONDS = 86400.0


class Option:
    """One setting: its flag, environment variable and ini key (where it has them). (A plain
    class: the table is made at every start-up.)"""

    __slots__ = ("env", "flag", "help", "ini", "metavar", "name")

    def __init__(  # noqa: PLR0917 - a row of the table below
        self, name: str, flag: str, env: str | None, ini: str, help: str, metavar: str
    ) -> None:
        self.name, self.flag, self.env, self.ini = name, flag, env, ini
        self.help, self.metavar = help, metavar


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
        "Redirect URI of the login: one registered in the app, or one whose path contains a "
        "registered one's (same scheme and host:port; no query, fragment or '..'; default "
        f"{DEFAULT_REDIRECT_URI}).",
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
        "account",
        "--livechat-account",
        "LIVECHAT_ACCOUNT",
        "livechat_account",
        f"Name of the LiveChat user that livechat_bearer logs in as (default {DEFAULT_ACCOUNT}); "
        "livechat_bearer_for(name) gives the others.",
        "NAME",
    ),
    Option(
        "cleanup",
        "--livechat-cleanup",
        "LIVECHAT_CLEANUP",
        "livechat_cleanup",
        "When the chats the plugin's clients and sessions started are deactivated: test "
        "(default; when the test that started each ends), session (at the end of the run) or "
        "off (never; nothing journaled).",
        "{test,session,off}",
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


ENVIRONMENT = (
    (TOKEN_ENV, "a bearer token to use as is: no cache, no login (CI)"),
    (f"{TOKEN_ENV}_<NAME>", "the same for the account NAME (upper case, - as _)"),
    (REFRESH_ENV, "a refresh token (code grant) to renew from when nothing is cached (CI)"),
    (f"{REFRESH_ENV}_<NAME>", "the same for the account NAME"),
    (CLIENT_SECRET_ENV, "the client secret of a server-side app (never a flag)"),
    (PAT_ENV, "a Personal Access Token, <account_id>:<token>, for livechat_api: no login"),
    (ORGANIZATION_ENV, "the organization id bots are made in with a Personal Access Token"),
)
"""The variables no flag stands for, with what each holds; those of the settings are in
``OPTIONS`` (``Option.env``), and ``REQUIRE_ENV`` goes with ``--livechat-require``."""


class Wording:
    """How the front end that runs the shared core names things, for the core's messages: the
    core never names a front end's flags itself. (A plain class: it is made at start-up.)"""

    __slots__ = ("flags", "log_in_first", "login_note")

    def __init__(
        self,
        flags: Mapping[str, str] | None = None,
        log_in_first: str = "log in first in a terminal",
        login_note: str = "",
    ) -> None:
        self.flags: Mapping[str, str] = flags or {}
        """Setting name -> how the person sets it (``--livechat-client-id=ID``)."""
        self.log_in_first = log_in_first
        """How to log in up front, for a process that has no terminal."""
        self.login_note = login_note
        """A last line for the login's instructions (what else is running against the clock)."""

    def flag(self, name: str) -> str:
        return self.flags.get(name, f"the {name} setting")


class Settings(NamedTuple):
    """Resolved settings (``resolve``), immutable. The cache path has no default here: it is
    per host (``default_cache_path``), so whoever makes settings says where the cache is.

    A ``NamedTuple``: typed and frozen as a dataclass would be, at a tenth of the cost of making
    the class, which every pytest run pays at start-up (``Option`` is a plain class with
    ``__slots__``, for the same reason).
    """

    token_cache: Path
    client_id: str | None = None
    redirect_uri: str = DEFAULT_REDIRECT_URI
    accounts_url: str = DEFAULT_ACCOUNTS_URL
    api_url: str = DEFAULT_API_URL
    grant: Grant = "implicit"
    account: str = DEFAULT_ACCOUNT
    cleanup: When = "test"
    min_ttl: float = DEFAULT_MIN_TTL
    prompt_timeout: float = DEFAULT_PROMPT_TIMEOUT
    open_browser: bool = True
    require: bool = False
    """Tests that need a credential fail, not skip, when none is configured (CI)."""
    cache_problem: str | None = None
    """Why the cache path cannot be resolved here (``~user`` unknown, no home directory), or
    None; ``token_cache`` is then the path as given, never used."""


def shorten(client_id: str) -> str:
    """A client id as we show it: enough to recognise, not the whole."""
    return client_id if len(client_id) <= 12 else f"{client_id[:8]}…"


def default_cache_path(
    env: Mapping[str, str], home: PurePath | Callable[[], PurePath], platform: str = sys.platform
) -> Path:
    """Where the cache lives when nothing says otherwise (XDG on POSIX, LOCALAPPDATA on
    Windows). ``home`` is asked for only when the variable is not set (it may raise
    ``RuntimeError``: no home directory is known)."""
    variable, below = "LOCALAPPDATA", ["AppData", "Local"]
    if platform != "win32":
        variable, below = "XDG_CACHE_HOME", [".cache"]
    base = env.get(variable) or str((home() if callable(home) else home).joinpath(*below))
    return Path(base) / "pytest-livechat-token" / "tokens.json"


def _default_cache(
    env: Mapping[str, str], home: PurePath | Callable[[], PurePath], platform: str
) -> tuple[Path, str | None]:
    """``default_cache_path``, and None; or, where no home directory can be found (``HOME``
    unset, a user id with no entry in the password database), a stand-in and what to do."""
    try:
        return default_cache_path(env, home, platform), None
    except RuntimeError:
        return Path("~/.cache/pytest-livechat-token/tokens.json"), (
            "the token cache has no place: no home directory is known (HOME is not set and "
            "this user has none): set LIVECHAT_TOKEN_CACHE or XDG_CACHE_HOME to a full path."
        )


def _pick(
    option: Option,
    cli: Mapping[str, Any],
    env: Mapping[str, str],
    ini: Mapping[str, Any],
    flags: Mapping[str, str],
) -> tuple[str, str] | None:
    """The first value set for ``option``, and where it came from, by precedence."""
    value = cli.get(option.name)
    if value is not None:
        return str(value), flags.get(option.name, option.flag)
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
    if not 0 <= value <= MAX_SECONDS:
        raise ConfigError(
            f"{source} must be a number of seconds from 0 to {MAX_SECONDS:.0f}, "
            f"got {printable(raw, 40)!r}."
        )
    return value


def is_loopback_host(host: str) -> bool:
    """``localhost``, ``::1`` or an address in 127.0.0.0/8 (no DNS is asked)."""
    if host.lower() in ("localhost", "::1"):
        return True
    parts = host.split(".")
    return (
        len(parts) == 4
        and parts[0] == "127"
        and all(part.isascii() and part.isdigit() and int(part) < 256 for part in parts)
    )


def _http_url(raw: str, source: str, *, https_only: bool = True) -> str:
    """A usable ``https://`` address (or ``http://`` to a loopback host, or with
    ``https_only`` false to any host); anything else is a ``ConfigError`` naming ``source``."""
    shown = printable(raw, 80)
    kinds = "an http:// or https://" if not https_only else "an https:// (or loopback http://)"
    if not raw.isprintable() or any(char.isspace() for char in raw):
        raise ConfigError(f"{source} must be {kinds} address without spaces, got {shown!r}.")
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        host = parts.hostname or ""
        if host and ":" not in host:
            _check_labels(host)
    except ValueError as error:  # UnicodeError is one
        raise ConfigError(f"{source} is not a usable address ({error}): {shown!r}.") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(f"{source} must be {kinds} address, got {shown!r}.")
    if https_only and parts.scheme == "http" and not is_loopback_host(host):
        raise ConfigError(
            f"{source} must use https:// (http:// is only for 127.0.0.1, ::1 or localhost), "
            f"got {shown!r}."
        )
    return raw


def _check_labels(host: str) -> None:
    """Raise ValueError for a host name with an empty or over-long label (``a..b``)."""
    if not host.isascii():
        host.encode("idna")  # the codec checks the labels (imported only for such a name)
    elif any(not label or len(label) > 63 for label in host.rstrip(".").split(".")):
        raise ValueError("a label of the host name is empty or too long")


def _redirect_uri(raw: str, source: str) -> str:
    """LiveChat's rule (Authorization > OAuth 2.1, "Redirect URIs"): a query, a fragment and
    a path traversal are forbidden; it would refuse the login only once the browser is open."""
    url = _http_url(raw, source, https_only=False)
    if "?" in url or "#" in url or ".." in urlsplit(url).path.split("/"):
        raise ConfigError(
            f"{source} must have no query (?), fragment (#) or '..': LiveChat refuses such a "
            f"redirect URI. Got {printable(raw, 80)!r}."
        )
    return url


PLACEHOLDER_CLIENT_IDS = frozenset({"your_client_id", "client_id", "id", "x", "xxx"})
"""What the README and the help show in place of a client id, never a real one."""


def _client_id(raw: str, source: str) -> str | None:
    value = raw.strip()
    if len(value) > 256 or not value.isprintable() or any(char.isspace() for char in value):
        raise ConfigError(
            f"{source} must be a client id without spaces, got {printable(raw, 40)!r}."
        )
    if value.strip("<>").lower() in PLACEHOLDER_CLIENT_IDS:
        raise ConfigError(
            f"{source} is the placeholder {value!r}, not a client id: copy the Client Id from "
            "your app's App Authorization block in the Developer Console "
            "(https://platform.text.com/console/)."
        )
    return value or None


def _path(raw: str, source: str) -> tuple[Path, str | None]:
    """The path ``raw`` with ``~`` expanded, and None; or, where ``~`` names a user or home
    this machine does not know, the path as given and what to do."""
    if "\x00" in raw:
        raise ConfigError(f"{source} must be a file path, got {printable(raw, 80)!r}.")
    try:
        return Path(raw).expanduser(), None
    except RuntimeError:  # "Could not determine home directory."
        return Path(raw), (
            f"{source} is {printable(raw, 80)!r}, whose ~ names no home directory here: give "
            "the token cache's full path."
        )


_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_NAME_REST = _NAME_START | {"_", "-"}


def is_account_name(raw: str) -> bool:
    """Whether ``raw`` follows ``ACCOUNT_RULE`` (checked without a regex: every run's header
    checks each cached name, and compiling one costs more than the check)."""
    return 0 < len(raw) <= 32 and raw[0] in _NAME_START and all(char in _NAME_REST for char in raw)


def account_name(raw: str, source: str = "an account name") -> str:
    """``raw`` when it is an account name; else a ``ConfigError`` that shows the rule."""
    if not is_account_name(raw):
        raise ConfigError(
            f"{source} must match {ACCOUNT_RULE} (lower-case letters, digits, _ and -, at most "
            f"32, starting with a letter or digit), got {printable(raw, 40)!r}."
        )
    return raw


def for_account(account: str) -> str:
    """`` for 'supervisor'`` in a message about an account; nothing for ``default``, the only
    one of most users."""
    return "" if account == DEFAULT_ACCOUNT else f" for {account!r}"


_Choice = TypeVar("_Choice", bound=str)


def _one_of(value: str, source: str, choices: tuple[_Choice, ...]) -> _Choice:
    """``value`` when it is one of ``choices``; else a ``ConfigError`` naming ``source``."""
    for choice in choices:
        if choice == value:
            return choice
    raise ConfigError(
        f"{source} must be one of {', '.join(choices)}, got {printable(value, 40)!r}."
    )


def resolve(
    cli: Mapping[str, Any],
    env: Mapping[str, str],
    ini: Mapping[str, Any],
    *,
    home: PurePath | Callable[[], PurePath],
    platform: str = sys.platform,
    flags: Mapping[str, str] | None = None,
) -> Settings:
    """Settings from the command line (``cli``), the environment and the ini file, by precedence.

    ``cli`` and ``ini`` map option names to values, None (or "") where unset; ``ini`` also
    carries ``open_browser`` (a bool), and ``cli`` may carry ``no_browser``. ``flags`` names
    the command line's options in messages, where they are not the pytest ones. ``home`` (or
    a function that finds it, called only when the default cache path needs it) is the
    user's home directory. A cache path that cannot be resolved is no error here: it is one
    when a token is needed (``cache_problem``).
    """
    picked = {option.name: _pick(option, cli, env, ini, flags or {}) for option in OPTIONS}
    values: dict[str, Any] = {}
    if (client := picked["client_id"]) is not None:
        values["client_id"] = _client_id(*client)
    if (redirect := picked["redirect_uri"]) is not None:
        values["redirect_uri"] = _redirect_uri(*redirect)
    if (accounts := picked["accounts_url"]) is not None:
        values["accounts_url"] = _http_url(*accounts).rstrip("/")
    if (api := picked["api_url"]) is not None:
        values["api_url"] = _http_url(*api).rstrip("/") + "/"
    for name, choices in (("grant", GRANTS), ("cleanup", CLEANUPS)):
        if (chosen := picked[name]) is not None:
            values[name] = _one_of(*chosen, choices)
    if cache := picked["token_cache"]:
        values["token_cache"], values["cache_problem"] = _path(*cache)
    else:
        values["token_cache"], values["cache_problem"] = _default_cache(env, home, platform)
    if (account := picked["account"]) is not None:
        values["account"] = account_name(*account)
    for name in ("min_ttl", "prompt_timeout"):
        if (seconds := picked[name]) is not None:
            values[name] = _seconds(*seconds)
    values["open_browser"] = (
        not cli.get("no_browser") and ini.get("open_browser", True) is not False
    )
    required = env.get(REQUIRE_ENV, "").strip().lower()
    if required not in ("", "0", "1", "false", "true", "no", "yes"):
        raise ConfigError(
            f"{REQUIRE_ENV} must be 1 or 0 (true/false, yes/no), got {printable(required, 20)!r}."
        )
    values["require"] = (
        bool(cli.get("require")) or required in ("1", "true", "yes") or ini.get("require") is True
    )
    return Settings(**values)
