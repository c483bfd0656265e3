"""``handoff``: what the xdist controller hands its workers, built with one read of the cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_livechat_token._base.settings import Settings, resolve
from pytest_livechat_token._core.handed import bearer_of, settings_from
from pytest_livechat_token._core.handoff import payload
from pytest_livechat_token._core.run import Run
from pytest_livechat_token._store.cache import TokenCache

from ...support.accounts_server import AccountsServer
from ...support.helpers import cache_token, make_run


def test_the_payload_reads_the_cache_once_for_every_account(
    accounts: AccountsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache with many accounts: the hand-off reads and parses it once, not once an account
    (a few thousand accounts took minutes before)."""
    path = tmp_path / "cache" / "tokens.json"
    names = ["default", *(f"a{n}" for n in range(40))]
    for name in names:
        cache_token(path, accounts.url, accounts.issue(), account=name)
    reads: list[int] = []
    entries = TokenCache.entries

    def counted(self: TokenCache) -> object:
        reads.append(1)
        return entries(self)

    monkeypatch.setattr(TokenCache, "entries", counted)
    handed = payload(make_run(accounts.url, path))
    assert sorted(handed["accounts"]) == sorted(names)
    assert len(reads) == 1
    assert accounts.requests == []


def test_what_workers_are_handed() -> None:

    controller = resolved({"client_id": "c", "min_ttl": "5", "token_cache": "/controller/t.json"})
    handed = payload(Run(controller, {}, interactive=False))
    assert "token_cache" not in handed["settings"]
    worker = settings_from(resolved({"token_cache": "/worker/t.json"}), handed)
    assert worker.client_id == "c"
    assert worker.min_ttl == 5
    assert worker.token_cache == Path("/worker/t.json")


def resolved(cli: dict[str, str]) -> Settings:
    return resolve(cli, {}, {}, home=Path("/home/user"))


def test_a_worker_takes_the_token_handed_for_its_account(
    accounts: AccountsServer, tmp_path: Path
) -> None:
    path = tmp_path / "cache" / "tokens.json"
    token = accounts.issue()
    cache_token(path, accounts.url, token, account_id="acc-1")
    controller = make_run(accounts.url, path)
    got = bearer_of(payload(controller), "default", controller.now())
    assert got == token
    assert got is not None
    assert got.account_id == "acc-1"
