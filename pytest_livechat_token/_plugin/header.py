"""The report header: which token each account of the run would use, read from the cache once
and worded by ``lookup.describe`` (as ``livechat-token status`` words it)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from .._base.environment import env_token, env_tokens
from .._base.errors import printable
from .._base.settings import DEFAULT_ACCOUNT, PAT_ENV, REFRESH_ENV, shorten
from .stash import PROCESS, SETTINGS, replaying, run_of

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .._core.run import Run
    from .._store.cache import BotEntry, Key

MAX_HEADER_ACCOUNTS = 3
"""More accounts than this, and the header sums up all but the default one."""


def header_lines(config: pytest.Config) -> list[str]:
    settings = config.stash[SETTINGS]
    if replaying(config):
        return [
            "livechat: replaying recordings (--record-mode=none): stand-in tokens, no login, no "
            "cache, no accounts call"
        ]
    # The answers most runs get, found without importing the core:
    from_env = list(env_tokens(os.environ))
    lines = [f"livechat: using the token in {', '.join(from_env)}"] if from_env else []
    pat = config.stash[PROCESS].pat
    if pat is not None:
        lines.append(
            f"livechat: livechat_api uses the Personal Access Token in {PAT_ENV} (account "
            f"{printable(shorten(pat.account_id))}); livechat_bearer still needs a token"
        )
    if settings.client_id is None:
        return lines or [
            "livechat: no client id configured (--livechat-client-id or LIVECHAT_CLIENT_ID)"
        ]
    from .._core.lookup import Found, describe, find  # the core, only with a client id

    run = run_of(config)
    if run.cache.off is not None:
        lines.append(f"livechat: {run.cache.off}")
    cached = run.cache.sections()  # read once for every account's and bot's line
    entries = cached.entries
    others = [name for name in run.accounts(entries) if name != settings.account]
    if env_token(os.environ, settings.account) is not None and not others:
        return lines
    head = f"livechat: client {printable(shorten(settings.client_id))}"
    now = run.now()

    def line(account: str, found: Found) -> str | None:
        if found.where == "environment":
            return None
        named = account != DEFAULT_ACCOUNT or account != settings.account
        if found.where == "renewal":
            missing = ""
        elif run.interactive:
            missing = "no valid token cached (a test that needs one will ask you to log in)"
        else:
            missing = (
                "no valid token cached and no terminal to log in from: tests that need one "
                f"will error (set {run.token_env(account)}, or run once in a terminal)"
            )
        said = describe(
            found,
            now,
            token_env=run.token_env(account),
            refresh_env=run.token_env(account, REFRESH_ENV),
            missing=missing,
        )
        return f"{head}{f', account {account!r}' if named else ''}, {said}"

    default = find(run, settings.account, entries)
    lines += filter(None, [line(settings.account, default)])
    if len(others) + 1 > MAX_HEADER_ACCOUNTS:
        fresh = sum(find(run, name, entries).where == "cache" for name in others)
        listed = ", ".join(others[:5]) + (", …" if len(others) > 5 else "")
        lines.append(
            f"{head}, {len(others)} more accounts cached ({listed}): {fresh} with a token "
            "for this run; livechat-token status lists them"
        )
    else:
        lines += filter(None, [line(name, find(run, name, entries)) for name in others])
    lines += _bot_line(run, head, cached.bots)
    lifetime = default.lifetime
    if lifetime is not None and 0 < lifetime < settings.min_ttl:
        from .._base.bearer import describe_duration

        lines.append(
            f"livechat: the server issues tokens for {describe_duration(lifetime)}, less "
            f"than --livechat-min-ttl ({describe_duration(settings.min_ttl)}): a token is "
            "renewed at most once a run and then used while it lasts"
        )
    return lines


def _bot_line(run: Run, head: str, bots: Mapping[Key, BotEntry]) -> list[str]:
    """The bots cached for this client, when there are any, and how many have a token."""
    names = run.bot_names(bots)
    if not names:
        return []
    url, client = run.settings.api_url, run.client_id
    fresh = sum(run.fresh(bots[(url, client, name)]) for name in names)
    listed = ", ".join(names[:5]) + (", …" if len(names) > 5 else "")
    return [
        f"{head}, bots cached: {listed} ({fresh} with a token for this run; livechat-token bots "
        "lists them)"
    ]
