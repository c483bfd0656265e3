"""``livechat-token``: the plugin's login and cache, outside pytest (curl, Postman, scripts).

Exit codes: 0 done; 1 failed (no token, login failed, cache locked, nothing to log out);
2 bad usage; 3 logged out locally, but the accounts server could not be told; 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from .bearer import describe_duration, mask, seconds_left, utcnow
from .errors import AccountsUnreachable, LiveChatTokenError, TokenRejected
from .obtain import TokenSource
from .settings import OPTIONS, resolve

OK, FAILED, USAGE, NOT_REVOKED = 0, 1, 2, 3

_FLAGS = {
    "client_id": "--client-id",
    "redirect_uri": "--redirect-uri",
    "accounts_url": "--accounts-url",
    "token_cache": "--token-cache",
    "min_ttl": "--min-ttl",
    "prompt_timeout": "--prompt-timeout",
    "grant": "--grant",
}


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
    commands.add_parser("status", parents=[common], help="List the cached tokens (masked).")
    commands.add_parser(
        "logout",
        parents=[common],
        help="Revoke the token at LiveChat and remove it from the cache.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    warnings.formatwarning = _one_line
    try:
        cli = {name: getattr(arguments, name) for name in _FLAGS}
        cli["no_browser"] = arguments.no_browser
        settings = resolve(cli, os.environ, {}, home=Path.home())
        source = TokenSource(settings, os.environ, interactive=True)
        command = {"login": _login, "token": _token, "status": _status, "logout": _logout}
        return command[arguments.command](source, arguments, sys.stdout, sys.stderr)
    except LiveChatTokenError as error:
        print(f"livechat-token: {error}", file=sys.stderr)
        return FAILED
    except KeyboardInterrupt:
        print("livechat-token: cancelled", file=sys.stderr)
        return 130


def _one_line(message: Warning | str, *args: object, **kwargs: object) -> str:
    return f"livechat-token: warning: {message}\n"


def _login(source: TokenSource, arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if not arguments.force and (token := source.cached()) is not None:
        left = (
            describe_duration(seconds_left(token.expires_at, utcnow())) if token.expires_at else ""
        )
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
            f"livechat-token: no valid token cached for client {source.client_id} at "
            f"{source.settings.accounts_url}. Run: livechat-token login",
            file=err,
        )
        return FAILED
    print(token, file=out)
    return OK


def _status(source: TokenSource, arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    entries = source.cache.entries()
    if not entries:
        print(f"No tokens cached in {source.cache.path}.", file=out)
        return OK
    now = utcnow()
    rows = [("ACCOUNTS URL", "CLIENT ID", "TOKEN", "EXPIRES AT (UTC)", "EXPIRES IN", "SCOPE")]
    for (accounts_url, client_id), entry in sorted(entries.items()):
        left = seconds_left(entry.expires_at, now)
        rows.append(
            (
                accounts_url,
                client_id,
                mask(entry.access_token),
                entry.expires_at.strftime("%Y-%m-%d %H:%M"),
                describe_duration(left) if left > 0 else "expired",
                entry.scope or "",
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip(),
            file=out,
        )
    print(f"({source.cache.path})", file=out)
    return OK


def _logout(source: TokenSource, arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .accounts import revoke  # noqa: PLC0415 - imports httpx

    accounts_url, client_id = source.settings.accounts_url, source.client_id
    entry = source.cache.get(accounts_url, client_id)
    if entry is None:
        print(
            f"livechat-token: no token cached for client {client_id} at {accounts_url}.", file=err
        )
        return FAILED
    try:
        revoke(accounts_url, entry.access_token)
    except TokenRejected:
        outcome, code = "it was no longer valid at LiveChat", OK
    except AccountsUnreachable as error:
        outcome, code = f"it could NOT be revoked at LiveChat ({error})", NOT_REVOKED
    else:
        outcome, code = "revoked at LiveChat", OK
    source.cache.remove(accounts_url, client_id)
    print(f"Logged out: removed the token from the cache; {outcome}.", file=err)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
