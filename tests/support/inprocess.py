"""In-process helpers of the core's tests: a source of a run, a scripted login, a cached
rotated pair, a cache that cannot be written."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pytest_livechat_token._base.bearer import utcnow
from pytest_livechat_token._base.settings import Settings
from pytest_livechat_token._core.customers import CustomerSource
from pytest_livechat_token._core.obtain import TokenSource, source_of
from pytest_livechat_token._core.run import Run
from pytest_livechat_token._store.cache import CacheEntry, TokenCache

from .accounts_server import AccountsServer, redirect_fragment
from .helpers import cache_token, make_run
from .scripted import ScriptedTerminal


def source_for(
    accounts: AccountsServer,
    path: Path,
    terminal: ScriptedTerminal | None,
    **kwargs: Any,
) -> TokenSource:
    """The default account's source of a run (``helpers.make_run``)."""
    return source_of(make_run(accounts.url, path, terminal, **kwargs))


def paste_for(terminal: ScriptedTerminal, token: str) -> str:
    from urllib.parse import parse_qs, urlsplit

    url = next(line for line in terminal.text.split() if "state=" in line)
    state = parse_qs(urlsplit(url).query)["state"][0]
    return "https://localhost/" + redirect_fragment(token, state)


def scripted_login(accounts: AccountsServer, token: str) -> ScriptedTerminal:
    """A terminal whose person pastes the right redirect for ``token`` at the first prompt."""
    ref: list[ScriptedTerminal] = []
    terminal = ScriptedTerminal([lambda wake: paste_for(ref[0], token)])
    ref.append(terminal)
    return terminal


def env_only(environ: dict[str, str]) -> TokenSource:
    """A source with only the environment to take a token from (no client id, no cache)."""
    return source_of(Run(Settings(token_cache=Path("never-read.json")), environ, interactive=False))


def rotated_pair(accounts: AccountsServer, cache: TokenCache, *, lifetime: float = -60) -> str:
    """An expired access token and its live refresh token, cached; returns the refresh token."""
    pair = accounts.pair()
    now = utcnow()
    entry = CacheEntry(
        pair["access_token"],
        now + timedelta(seconds=lifetime),
        now - timedelta(hours=8),
        scope=pair["scope"],
        refresh_token=pair["refresh_token"],
    )
    cache.put(accounts.url, "client-1", entry)
    return str(pair["refresh_token"])


def block_writes(path: Path) -> None:
    """Make the write lock a directory: reads (lock-free) work, every write fails (EISDIR)."""
    lock = path.with_name("tokens.json.lock")
    lock.unlink(missing_ok=True)
    lock.mkdir()


def logout(
    accounts: AccountsServer, path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    """``livechat-token logout`` in-process, for client-1 at the test server; (code, stderr)."""
    from pytest_livechat_token.cli import main

    argv = ["--client-id=client-1", f"--accounts-url={accounts.url}", f"--token-cache={path}"]
    code = main(["logout", *argv])
    return code, capsys.readouterr().err


# -- customers

AGENT_SCOPE = "chats--all:rw,customers:own"


def customers(
    accounts: AccountsServer, path: Path, environ: dict[str, str] | None = None, **kwargs: Any
) -> CustomerSource:
    """The customers of a run with nobody to ask."""
    return CustomerSource(make_run(accounts.url, path, environ=environ, **kwargs))


def cached_agent(accounts: AccountsServer, path: Path, scope: str = AGENT_SCOPE) -> str:
    token = accounts.issue(scope=scope)
    cache_token(path, accounts.url, token, account_id="acc-1", scope=scope)
    return token


def fetches(accounts: AccountsServer) -> int:
    return accounts.count("POST", "/v2/customer/token")


def customer_answer(
    entity_id: str, organization_id: str | None
) -> tuple[int, bytes, dict[str, str]]:
    """A fixed ``POST /v2/customer/token`` answer (the server's knob)."""
    body: dict[str, object] = {
        "access_token": "dal:cust-fixed-token-value",
        "client_id": "client-1",
        "entity_id": entity_id,
        "expires_in": 28800,
        "token_type": "Bearer",
    }
    if organization_id is not None:
        body["organization_id"] = organization_id
    return 200, json.dumps(body).encode(), {}
