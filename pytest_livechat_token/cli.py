"""``livechat-token``: the plugin's login and cache, outside pytest (curl, Postman, scripts).

Exit codes: 0 done; 1 failed (no token, login failed, cache locked, nothing to log out);
2 bad usage; 3 logged out locally, but the accounts server could not be told; 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from ._base.bearer import describe_duration, mask, seconds_left, utcnow
from ._base.environment import env_secrets
from ._base.errors import (
    AccountsUnreachable,
    ConfigError,
    LiveChatTokenError,
    LoginCancelled,
    TokenRejected,
    printable,
    reason,
)
from ._base.settings import (
    DEFAULT_ACCOUNT,
    OPTIONS,
    REFRESH_ENV,
    Settings,
    Wording,
    account_name,
    for_account,
    resolve,
    shorten,
)
from ._core.customers import CustomerSource
from ._core.lookup import describe, find
from ._core.obtain import TokenSource, source_of
from ._core.run import Run
from ._store.cache import BotEntry, CacheEntry, CustomerEntry, Key

OK, FAILED, USAGE, NOT_REVOKED = 0, 1, 2, 3

_FLAGS = {
    "client_id": "--client-id",
    "redirect_uri": "--redirect-uri",
    "accounts_url": "--accounts-url",
    "api_url": "--api-url",
    "token_cache": "--token-cache",
    "min_ttl": "--min-ttl",
    "prompt_timeout": "--prompt-timeout",
    "grant": "--grant",
    "account": "--account",
}
WORDING = Wording(
    flags={
        **_FLAGS,
        "client_id": "pass --client-id=ID, set LIVECHAT_CLIENT_ID or ini livechat_client_id",
        "prompt_timeout": "--prompt-timeout",
        "login": "livechat-token login --force",
        "drop_customer": "livechat-token logout --customer {name}",
        "drop_bot": "livechat-token logout --bot {name}",
        "refresh_token": "livechat-token refresh-token",
    },
    log_in_first="run livechat-token login in a terminal",
)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    settings = common.add_argument_group("settings (as the pytest options; the same env vars)")
    for option in OPTIONS:
        if option.name in _FLAGS:
            env = f" [env {option.env}]" if option.env else ""
            settings.add_argument(
                _FLAGS[option.name],
                dest=option.name,
                metavar=option.metavar,
                help=option.help + env,
            )
    settings.add_argument(
        "--no-browser", action="store_true", help="At a login, print the address only."
    )
    parser = argparse.ArgumentParser(
        prog="livechat-token",
        description="Log in to LiveChat and use the cached bearer token outside pytest.",
        epilog=(
            "exit codes: 0 done; 1 failed; 2 bad usage; 3 logged out locally, not revoked; "
            "130 cancelled"
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    login = commands.add_parser(
        "login", parents=[common], help="Log in (guided) and cache the token."
    )
    login.add_argument("--force", action="store_true", help="Log in even when a token is cached.")
    token = commands.add_parser(
        "token",
        parents=[common],
        help="Print the cached valid token alone on stdout.",
        description='For example: curl -H "Authorization: Bearer $(livechat-token token)" ...',
    )
    token.add_argument(
        "--login", action="store_true", help="Log in first when no valid token is cached."
    )
    token.add_argument(
        "--json",
        action="store_true",
        help="Print {access_token, expires_at (ISO 8601), expires_on (epoch seconds), account, "
        "scope} instead, for scripts.",
    )
    commands.add_parser(
        "refresh-token",
        parents=[common],
        help="Print the account's cached refresh token alone on stdout (for a CI secret store).",
        description="For example: gh secret set LIVECHAT_REFRESH_TOKEN --body "
        '"$(livechat-token refresh-token)"',
    )
    commands.add_parser(
        "status",
        parents=[common],
        help="List the cached tokens of every account, customer and bot (masked).",
    )
    commands.add_parser(
        "bots",
        parents=[common],
        help="List the cached bots (livechat_bot_for): their ids and tokens (masked).",
    )
    customer = commands.add_parser(
        "customer",
        parents=[common],
        help="Print a customer token (Customer Chat API) alone on stdout.",
        description="Made from the account's token with the agent token grant (it needs the "
        "customers:own scope); the same customer in later calls.",
    )
    customer.add_argument("--name", default="default", help="Which customer (default: default).")
    sweep = commands.add_parser(
        "sweep",
        parents=[common],
        help="Deactivate the chats that stopped runs left in the chat journal.",
        description="A run killed before its cleanup leaves its chats in chats.json beside "
        "the cache; the next pytest run deactivates them first, and so does this.",
    )
    sweep.add_argument(
        "--dry-run", action="store_true", help="Only say how many there are; change nothing."
    )
    logout = commands.add_parser(
        "logout",
        parents=[common],
        help="Revoke the account's token at LiveChat and remove it from the cache.",
    )
    logout.add_argument(
        "--all", action="store_true", help="Log out every cached account of the client."
    )
    logout.add_argument(
        "--customer",
        metavar="NAME",
        help="Remove the cached customer NAME instead (the next use makes a new customer).",
    )
    logout.add_argument(
        "--bot",
        metavar="NAME",
        help="Delete the bot NAME at LiveChat and remove it from the cache instead (--all "
        "deletes every bot of the client too).",
    )
    return parser


_INI_FILES = (
    ("pytest.ini", "pytest"),
    (".pytest.ini", "pytest"),
    ("pyproject.toml", "tool.pytest.ini_options"),
    ("tox.ini", "pytest"),
    ("setup.cfg", "tool:pytest"),
)
"""Where pytest reads its settings, in the order it looks in each directory (pytest's
"Finding the rootdir": a pytest.ini counts even without the section)."""


def project_ini(start: Path) -> dict[str, Any]:
    """The plugin's ini settings of the project pytest would run in from ``start`` (the first
    file with pytest's settings in ``start`` or a directory above it), as ``resolve`` takes
    them: so that ``livechat-token login`` works where ``pytest`` works."""
    for directory in (start, *start.parents):
        for name, section in _INI_FILES:
            path = directory / name
            if not path.is_file():
                continue
            values = _read_section(path, section)
            if values is None and name not in ("pytest.ini", ".pytest.ini"):
                continue
            found = values or {}
            ini: dict[str, Any] = {
                option.name: str(found[option.ini]) for option in OPTIONS if option.ini in found
            }
            for key, setting in (
                ("livechat_open_browser", "open_browser"),
                ("livechat_require", "require"),
            ):
                if key in found:
                    ini[setting] = str(found[key]).strip().lower() in ("1", "true", "yes", "on")
            return ini
    return {}


def _read_section(path: Path, section: str) -> dict[str, Any] | None:
    """The ``section`` of an ini or TOML file, or None when it has none (or cannot be read)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if path.suffix == ".toml":
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - pytest depends on tomli there
            import tomli as tomllib
        try:
            table: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            return None
        for key in section.split("."):
            table = table.get(key) if isinstance(table, dict) else None
        return table if isinstance(table, dict) else None
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return None
    return dict(parser[section]) if parser.has_section(section) else None


def _the_one_cached_client(settings: Settings) -> str | None:
    """The client id of the cache's entries at the settings' accounts server, when there is
    exactly one (``livechat-token token`` with no client id given)."""
    from ._store.cache import TokenCache

    try:
        keys = TokenCache(settings.token_cache, unresolved=settings.cache_problem).entries()
    except LiveChatTokenError:
        return None
    clients = {client for url, client, _ in keys if url == settings.accounts_url}
    return clients.pop() if len(clients) == 1 else None


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    warnings.formatwarning = _one_line
    from ._auth.runner import start  # under a CI runner: every secret masked in its log

    start(os.environ, stdout=False)  # stderr: $(livechat-token token) captures the token only
    try:
        cli = {name: getattr(arguments, name) for name in _FLAGS}
        cli["no_browser"] = arguments.no_browser
        ini = project_ini(Path.cwd())
        settings = resolve(cli, os.environ, ini, home=Path.home, flags=_FLAGS)
        if settings.client_id is None:
            settings = settings._replace(client_id=_the_one_cached_client(settings))
        run = Run(
            settings,
            os.environ,
            interactive=True,
            wording=WORDING,
            notify=lambda message: print(f"livechat-token: {message}", file=sys.stderr),
        )
        source = source_of(run)
        env_secrets(os.environ)  # a malformed token variable is a usage error

        command = {
            "login": _login,
            "token": _token,
            "status": _status,
            "logout": logout,
            "customer": _customer,
            "bots": _bots,
            "sweep": _sweep,
            "refresh-token": _refresh_token,
        }
        return command[arguments.command](source, arguments, sys.stdout, sys.stderr)
    except ConfigError as error:
        print(f"livechat-token: {error}", file=sys.stderr)
        return USAGE
    except (KeyboardInterrupt, LoginCancelled):
        print("livechat-token: cancelled", file=sys.stderr)
        return 130
    except LiveChatTokenError as error:
        print(f"livechat-token: {error}", file=sys.stderr)
        return FAILED
    except Exception as error:  # a bug of ours: still one line, and no token in it
        print(
            f"livechat-token: failed unexpectedly ({type(error).__name__}); please report it.",
            file=sys.stderr,
        )
        return FAILED


def _one_line(message: Warning | str, *args: object, **kwargs: object) -> str:
    return f"livechat-token: warning: {message}\n"


def _login(source: TokenSource, arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if find(source.run, source.account).where == "environment":
        print(
            f"{source.token_env} is set, so its token is used and no login is needed: unset it "
            "to log in.",
            file=err,
        )
        return OK
    if not arguments.force and (token := source.cached()) is not None:
        assert token.expires_at is not None  # from the cache: the env token was handled above
        left = describe_duration(seconds_left(token.expires_at, utcnow()))
        print(f"Already logged in ({left} left); --force logs in again.", file=err)
        return OK
    source.login(force=arguments.force)
    return OK


def _token(source: TokenSource, arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    token = source.cached()
    if token is None and arguments.login:
        token = source.login(force=False)
    if token is None:
        print(
            f"livechat-token: no valid token cached{for_account(source.account)} for client "
            f"{printable(source.run.client_id)} at {source.run.settings.accounts_url}. Run: "
            f"livechat-token login{_account_flag(source.account)}",
            file=err,
        )
        return FAILED
    if not arguments.json:
        print(token, file=out)
        return OK
    import json  # only for --json

    expires = token.expires_at
    answer = {
        "access_token": str(token),
        "expires_at": expires.isoformat().replace("+00:00", "Z") if expires else None,
        "expires_on": int(expires.timestamp()) if expires else None,
        "account": source.account,
        "scope": token.scope,
    }
    print(json.dumps(answer), file=out)
    return OK


def _refresh_token(
    source: TokenSource, arguments: argparse.Namespace, out: TextIO, err: TextIO
) -> int:
    run = source.run
    entry = run.cache.get(run.settings.accounts_url, run.client_id, source.account)
    if entry is None or entry.refresh_token is None:
        print(
            f"livechat-token: no refresh token cached{for_account(source.account)} for client "
            f"{printable(run.client_id)} at {run.settings.accounts_url}. Log in with the code "
            f"grant first: livechat-token login --grant=code{_account_flag(source.account)}",
            file=err,
        )
        return FAILED
    print(entry.refresh_token, file=out)
    return OK


def _status(source: TokenSource, arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    run = source.run
    entries, customers, bots = run.cache.entries(), run.cache.customers(), run.cache.bots()
    if not entries and not customers and not bots:
        print(f"No tokens cached in {run.cache.path}.", file=out)
        return OK
    now = utcnow()
    rows = [
        (
            "ACCOUNTS URL",
            "CLIENT ID",
            "ACCOUNT",
            "ACCOUNT ID",
            "TOKEN",
            "EXPIRES AT (UTC)",
            "EXPIRES IN",
            "REFRESH",
            "SCOPE",
        )
    ]
    for (accounts_url, client_id, account), entry in sorted(entries.items()):
        left = seconds_left(entry.expires_at, now)
        rows.append(
            (
                printable(accounts_url, 100),
                printable(client_id, 64),
                printable(account, 32),
                printable(entry.account_id or "?", 64),
                mask(entry.access_token),
                entry.expires_at.strftime("%Y-%m-%d %H:%M"),
                describe_duration(left) if left > 0 else "expired",
                "yes" if entry.refresh_token else "no",
                printable(entry.scope or "", 500),
            )
        )
    _table(rows, out)
    _customers(customers, out)
    if bots:
        print(file=out)
        _bot_table(bots, out)
    print(f"({printable(str(run.cache.path))})", file=out)
    if run.settings.client_id is not None:
        for name in sorted({source.account, *run.accounts(entries)}):
            said = describe(
                find(run, name, entries),
                now,
                token_env=run.token_env(name),
                refresh_env=run.token_env(name, REFRESH_ENV),
                missing=f"no valid token cached: livechat-token login{_account_flag(name)}",
            )
            print(
                f"client {printable(shorten(run.client_id))}, account {name!r}: {said}",
                file=out,
            )
    return OK


def _customers(customers: Mapping[Key, CustomerEntry], out: TextIO) -> None:
    """The table of cached customers, when there are any."""
    if not customers:
        return
    now = utcnow()
    rows = [("ACCOUNTS URL", "CLIENT ID", "CUSTOMER", "ENTITY ID", "TOKEN", "EXPIRES IN")]
    for (accounts_url, client_id, name), entry in sorted(customers.items()):
        left = seconds_left(entry.expires_at, now)
        rows.append(
            (
                printable(accounts_url, 100),
                printable(client_id, 64),
                printable(name, 32),
                printable(entry.entity_id, 64),
                mask(entry.access_token),
                describe_duration(left) if left > 0 else "expired",
            )
        )
    print(file=out)
    _table(rows, out)


def _bots(source: TokenSource, arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    bots = source.run.cache.bots()
    if not bots:
        print(f"No bots cached in {source.run.cache.path}.", file=out)
        return OK
    _bot_table(bots, out)
    return OK


def _sweep(source: TokenSource, arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ._core.cleanup import Cleanup

    cleanup = Cleanup(source.run)
    if cleanup.journal is None:
        print("No chat journal: there is no token cache.", file=out)
        return OK
    try:
        swept = cleanup.sweep(dry_run=arguments.dry_run)
    finally:
        cleanup.close()
    where = printable(str(cleanup.journal.path))
    if arguments.dry_run:
        print(
            f"{swept.deactivated} chat(s) in {where} would be deactivated; {swept.left} could "
            "not (no cached credential for who started them, or another API URL).",
            file=out,
        )
        return OK
    print(f"Deactivated {swept.deactivated} chat(s) of {where}; {swept.left} left.", file=out)
    return OK if not swept.left else FAILED


def _bot_table(bots: Mapping[Key, BotEntry], out: TextIO) -> None:
    """The table of cached bots: never their secrets, their tokens masked."""
    now = utcnow()
    rows = [("API URL", "CLIENT ID", "BOT", "BOT ID", "MADE BY", "TOKEN", "EXPIRES IN")]
    for (api_url, client_id, name), entry in sorted(bots.items()):
        left = seconds_left(entry.expires_at, now) if entry.expires_at else 0.0
        rows.append(
            (
                printable(api_url, 100),
                printable(client_id, 64),
                printable(name, 32),
                printable(entry.bot_id, 64),
                printable(entry.agent, 32),
                mask(entry.access_token) if entry.access_token else "-",
                describe_duration(left) if left > 0 else "expired" if entry.expires_at else "-",
            )
        )
    _table(rows, out)


def _table(rows: Sequence[Sequence[str]], out: TextIO) -> None:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip(),
            file=out,
        )


def _customer(source: TokenSource, arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ._base.errors import MissingScope

    try:
        token = CustomerSource(source.run).token(account_name(arguments.name, "--name"))
    except MissingScope as missing:
        print(f"livechat-token: {missing}.", file=err)
        return FAILED
    print(token, file=out)
    return OK


def _account_flag(account: str) -> str:
    """`` --account supervisor`` for a command to suggest; nothing for ``default``."""
    return "" if account == DEFAULT_ACCOUNT else f" --account {account}"


# -- livechat-token logout: revoke at LiveChat what is cached, and remove it from the cache,
# for an account, every account (--all) or one customer (--customer); the customers an account
# made go with it. What the cache held is removed even when LiveChat could not be told (exit
# code 3 says so): a logout never leaves a token behind for a later run to use. A bot (--bot,
# and every bot with --all, first) is deleted at LiveChat; one that could not be stays cached,
# since its id and secret are what deleting it later takes (bot tokens cannot be revoked).


def logout(source: TokenSource, arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    run = source.run
    if arguments.customer is not None:
        return _drop_customer(run, account_name(arguments.customer, "--customer"), err)
    if arguments.bot is not None:
        return _delete_bot(run, account_name(arguments.bot, "--bot"), err)
    code = OK
    if arguments.all:  # first, while the credential that deletes them is still cached
        for bot in run.bot_names(run.cache.bots()):
            code = max(code, _delete_bot(run, bot, err))
    accounts_url, client_id = run.settings.accounts_url, run.client_id
    entries = run.cache.entries()
    names = run.accounts(entries) if arguments.all else [source.account]
    found = [(name, entries.get((accounts_url, client_id, name))) for name in names]
    if not any(entry for _, entry in found):
        whose = "" if arguments.all else for_account(source.account)
        print(
            f"livechat-token: no token cached{whose} for client {printable(client_id)} at "
            f"{accounts_url}.",
            file=err,
        )
        return max(code, FAILED)
    for name, entry in found:
        if entry is not None:
            code = max(code, _logout_one(run, name, err))
    # The customers an account made go with it (every customer of the client with --all).
    for customer in _customers_of(run, None if arguments.all else names):
        code = max(code, _drop_customer(run, customer, err, quiet_if_none=True))
    return code


def _drop_customer(run: Run, name: str, err: TextIO, *, quiet_if_none: bool = False) -> int:
    """Revoke a cached customer's token at LiveChat and remove it from the cache."""
    accounts_url, client_id = run.settings.accounts_url, run.client_id
    entry = run.cache.get_customer(accounts_url, client_id, name)
    if entry is None:
        if quiet_if_none:
            return OK
        print(
            f"livechat-token: no customer {name!r} cached for client {printable(client_id)} at "
            f"{accounts_url}.",
            file=err,
        )
        return FAILED
    said, code = _revoke(accounts_url, "customer token", entry.access_token, customer=True)
    remove = partial(run.cache.remove_customer, accounts_url, client_id, name)
    if not _removed(run, remove, f"the customer {name!r}", said, err):
        return FAILED
    print(
        f"Removed the customer {name!r} (customer {printable(entry.entity_id, 64)}) from the "
        f"cache: the next use makes a new customer; {said}.",
        file=err,
    )
    return code


def _delete_bot(run: Run, name: str, err: TextIO) -> int:
    """Delete a cached bot at LiveChat (Delete Bot, with the credential that makes bots) and
    remove it from the cache. A bot LiveChat could not be asked to delete stays cached (its id
    and secret are what deleting it later takes); one LiveChat no longer has is removed."""
    from ._auth.webapi import WebApiRefused, delete_bot
    from ._core.bots import BotSource

    api_url, client_id = run.settings.api_url, run.client_id
    entry = run.cache.get_bot(api_url, client_id, name)
    if entry is None:
        print(
            f"livechat-token: no bot {name!r} cached for client {printable(client_id)} at "
            f"{api_url}.",
            file=err,
        )
        return FAILED
    try:
        delete_bot(api_url, BotSource(run).maker().caller, entry.bot_id)
        said = "it was deleted at LiveChat"
    except WebApiRefused as refused:
        if refused.type != "not_found":
            print(
                f"livechat-token: could not delete the bot {name!r} ({entry.bot_id}) at "
                f"LiveChat ({refused}); it stays cached: run this again once that is fixed.",
                file=err,
            )
            return FAILED
        said = "LiveChat no longer had it"
    except AccountsUnreachable as error:
        print(
            f"livechat-token: could not delete the bot {name!r} ({entry.bot_id}) at LiveChat "
            f"({error}); it stays cached: run this again later.",
            file=err,
        )
        return FAILED
    remove = partial(run.cache.remove_bot, api_url, client_id, name)
    if not _removed(run, remove, f"the bot {name!r}", said, err):
        return FAILED
    print(f"Removed the bot {name!r} ({entry.bot_id}) from the cache; {said}.", file=err)
    return OK


def _customers_of(run: Run, agents: Sequence[str] | None) -> list[str]:
    """The client's cached customers made by one of ``agents`` (None: by anyone)."""
    accounts_url, client_id = run.settings.accounts_url, run.client_id
    return [
        name
        for (url, client, name), entry in run.cache.customers().items()
        if (url, client) == (accounts_url, client_id) and (agents is None or entry.agent in agents)
    ]


def _logout_one(run: Run, name: str, err: TextIO) -> int:
    """Revoke and remove one account's pair under its login lock: a renewal in another process
    finishes first, and what it stored is what is revoked (never a pair it already rotated)."""
    timeout = run.settings.prompt_timeout

    def on_wait() -> None:
        run.notices.say(
            f"Waiting for the LiveChat login or renewal{for_account(name)} in another process "
            f"(up to {timeout:.0f} s)…"
        )

    with run.locks.login(timeout, on_wait, name):
        accounts_url, client_id = run.settings.accounts_url, run.client_id
        entry = run.cache.get(accounts_url, client_id, name)
        if entry is None:
            print(f"Logged out{for_account(name)} already (by another process).", file=err)
            return OK
        return _revoke_and_remove(run, name, entry, err)


def _revoke_and_remove(run: Run, name: str, entry: CacheEntry, err: TextIO) -> int:
    accounts_url, client_id = run.settings.accounts_url, run.client_id
    outcomes = [_revoke(accounts_url, "access token", entry.access_token)]
    if entry.refresh_token is not None:
        # Revoking an access token revokes its refresh token too, but when the access token
        # is already gone that says nothing of the refresh token: revoke it by itself.
        refresh = _revoke(accounts_url, "refresh token", entry.refresh_token)
        if outcomes[0][0].endswith("was revoked at LiveChat") and refresh[0].endswith(
            "was no longer valid at LiveChat"
        ):  # gone with its access token, as it should be: nothing is wrong
            refresh = ("its refresh token with it", refresh[1])
        outcomes.append(refresh)
    said = "; ".join(text for text, _ in outcomes)
    remove = partial(run.cache.remove, accounts_url, client_id, name)
    if not _removed(run, remove, f"the token{for_account(name)}", said, err):
        return FAILED
    print(f"Logged out{for_account(name)}: removed the token from the cache; {said}.", file=err)
    return max(code for _, code in outcomes)


def _removed(run: Run, remove: Callable[[], object], what: str, said: str, err: TextIO) -> bool:
    """Whether ``remove()`` took ``what`` out of the cache; if not, one line that says so and
    what LiveChat was told (``said``)."""
    try:
        remove()
    except (OSError, LiveChatTokenError) as error:
        print(
            f"livechat-token: could not remove {what} from {printable(str(run.cache.path))} "
            f"({reason(error)}); {said}.",
            file=err,
        )
        return False
    return True


def _revoke(accounts_url: str, what: str, token: str, *, customer: bool = False) -> tuple[str, int]:
    from ._auth.oauth import revoke, revoke_customer

    try:
        (revoke_customer if customer else revoke)(accounts_url, token)
    except TokenRejected:
        return f"the {what} was no longer valid at LiveChat", OK
    except AccountsUnreachable as error:
        return f"the {what} could NOT be revoked at LiveChat ({error})", NOT_REVOKED
    return f"the {what} was revoked at LiveChat", OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
