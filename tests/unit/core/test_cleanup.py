"""``_core.cleanup``: the chats a run starts, journaled and deactivated again, in-process with
real clients and a real RTM session against the real test servers (one chat store for the
Web APIs and RTM)."""

from __future__ import annotations

import base64
import json
import os
import warnings
from pathlib import Path

import pytest

from pytest_livechat_token._api.clients import api_client, customer_client
from pytest_livechat_token._base.bearer import BearerToken, CustomerToken, utcnow
from pytest_livechat_token._base.errors import CacheWarning, CleanupWarning
from pytest_livechat_token._base.pat import PersonalAccessToken
from pytest_livechat_token._core.cleanup import Cleanup, identity_of
from pytest_livechat_token._rtm.frames import rtm_url
from pytest_livechat_token._rtm.session import open_session
from pytest_livechat_token._store.journal import ChatJournal, Started, journal_path

from ...support.accounts_server import AccountsServer
from ...support.helpers import cache_token, make_run
from ...support.rtm_server import RtmServer

DEACTIVATE = "/v3.6/agent/action/deactivate_chat"


def cleanup_of(accounts: AccountsServer, path: Path, test: str | None = "test_a") -> Cleanup:
    run = make_run(accounts.url, path, api_url=f"{accounts.url}/v3.6/")
    return Cleanup(run, lambda: test)


def agent(accounts: AccountsServer) -> BearerToken:
    return BearerToken(accounts.issue(), account="default", organization_id="org-1")


def journaled(path: Path) -> list[str]:
    return [entry.chat_id for entry in ChatJournal(journal_path(path), print).entries()]


def test_a_chat_is_journaled_before_its_answer_and_deactivated_when_its_test_ends(
    accounts: AccountsServer, path: Path
) -> None:
    cleanup = cleanup_of(accounts, path)
    token = agent(accounts)
    seen: list[list[str]] = []
    with api_client(f"{accounts.url}/v3.6/", token, cleanup.watcher_of(token)) as client:
        answer = client.post("agent/action/start_chat", json={})
        seen.append(journaled(path))  # what the journal held when the answer came
    chat_id = answer.json()["chat_id"]
    assert seen == [[chat_id]]
    assert accounts.active_chats() == {chat_id}
    cleanup.finish("another test")
    assert accounts.active_chats() == {chat_id}, "not another test's to end"
    cleanup.finish("test_a")
    assert accounts.active_chats() == set()
    assert journaled(path) == []
    assert accounts.count("POST", DEACTIVATE) == 1


def test_a_chat_the_test_deactivated_itself_is_left_alone(
    accounts: AccountsServer, path: Path
) -> None:
    cleanup = cleanup_of(accounts, path)
    token = agent(accounts)
    with api_client(f"{accounts.url}/v3.6/", token, cleanup.watcher_of(token)) as client:
        chat_id = client.post("agent/action/start_chat", json={}).json()["chat_id"]
        client.post("agent/action/deactivate_chat", json={"id": chat_id})
        assert journaled(path) == []
        client.post("agent/action/resume_chat", json={"chat": {"id": chat_id}})
        assert journaled(path) == [chat_id], "resumed: active again, journaled again"
    cleanup.finish("test_a")
    assert accounts.active_chats() == set()
    assert accounts.count("POST", DEACTIVATE) == 2  # the test's, then the cleanup's


def test_a_customer_s_chat_is_deactivated_with_its_own_token(
    accounts: AccountsServer, path: Path
) -> None:
    cleanup = cleanup_of(accounts, path)
    token = CustomerToken("dal:customer-token-0123", entity_id="e-1", organization_id="org-1")
    accounts.customer_tokens[str(token)] = "e-1"
    with customer_client(f"{accounts.url}/v3.6/", token, cleanup.watcher_of(token)) as client:
        client.post("start_chat", json={})
    cleanup.finish("test_a")
    assert accounts.active_chats() == set()
    (call,) = [c for c in accounts.api_calls if c["path"].endswith("deactivate_chat")]
    assert call["path"] == "/v3.6/customer/action/deactivate_chat"
    assert call["query"] == {"organization_id": ["org-1"]}
    assert call["authorization"] == token.authorization


def test_an_rtm_session_s_chat_is_deactivated_too(
    rtm_server: RtmServer, accounts: AccountsServer, path: Path
) -> None:
    cleanup = cleanup_of(accounts, path)
    token = agent(accounts)
    session, _ = open_session(rtm_url(rtm_server.url, "agent", "org-1"), token, who="agent")
    session.on_chat = cleanup.watcher_of(token)
    try:
        chat_id = session.request("start_chat", {})["chat_id"]
        assert journaled(path) == [chat_id]
    finally:
        session.close()
    cleanup.finish("test_a")
    assert accounts.active_chats() == set()
    assert journaled(path) == []


def test_a_chat_that_cannot_be_deactivated_is_a_warning_even_under_w_error(
    accounts: AccountsServer, path: Path
) -> None:
    cleanup = cleanup_of(accounts, path)
    token = agent(accounts)
    with api_client(f"{accounts.url}/v3.6/", token, cleanup.watcher_of(token)) as client:
        chat_id = client.post("agent/action/start_chat", json={}).json()["chat_id"]
    accounts.fixed[("POST", DEACTIVATE)] = (500, b'{"error": {"type": "internal"}}', {})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("error")
        cleanup.finish("test_a")
    (warning,) = [w for w in caught if issubclass(w.category, CleanupWarning)]
    message = str(warning.message)
    assert f"could not deactivate the LiveChat chat {chat_id}" in message
    assert "livechat-token sweep" in message
    assert str(token) not in message
    assert journaled(path) == [chat_id], "kept for the next run"


def test_a_sweep_deactivates_what_a_dead_process_left_with_cached_credentials(
    accounts: AccountsServer, path: Path
) -> None:
    token = accounts.issue(scope="chats--all:rw")
    cache_token(path, accounts.url, token, account_id="acc-1", scope="chats--all:rw")
    left_by = ChatJournal(journal_path(path), print)
    mine = accounts.start_chat()["chat_id"]
    nobody_s = accounts.start_chat()["chat_id"]
    for chat_id, name in ((mine, "default"), (nobody_s, "stranger")):
        api_url = f"{accounts.url}/v3.6/"
        left_by.add(Started(chat_id, api_url, "agent", name, left_by.owner, utcnow()))
    left_by.close()  # the process is gone
    cleanup = cleanup_of(accounts, path, test=None)
    assert cleanup.sweep(dry_run=True) == (1, 1)
    assert accounts.active_chats() == {mine, nobody_s}
    assert cleanup.sweep() == (1, 1)
    assert accounts.active_chats() == {nobody_s}, "no credential cached for 'stranger'"
    assert journaled(path) == [nobody_s]
    document = json.loads(journal_path(path).read_text())
    assert all(str(token) not in json.dumps(entry) for entry in document["chats"])


@pytest.mark.parametrize("action", ["start_chat", "resume_chat"])
def test_an_answer_that_names_no_chat_is_not_journaled(
    accounts: AccountsServer, path: Path, action: str
) -> None:
    cleanup = cleanup_of(accounts, path)
    token = agent(accounts)
    accounts.fixed[("POST", f"/v3.6/agent/action/{action}")] = (200, b'{"chat_id": 7}', {})
    with api_client(f"{accounts.url}/v3.6/", token, cleanup.watcher_of(token)) as client:
        assert client.post(f"agent/action/{action}", json={}).status_code == 200
    assert journaled(path) == []


def test_with_no_cache_nothing_is_journaled_and_chats_are_still_deactivated(
    accounts: AccountsServer, tmp_path: Path
) -> None:
    run = make_run(accounts.url, Path(os.devnull), api_url=f"{accounts.url}/v3.6/")
    cleanup = Cleanup(run, lambda: "test_a")
    assert cleanup.journal is None
    token = agent(accounts)
    with api_client(f"{accounts.url}/v3.6/", token, cleanup.watcher_of(token)) as client:
        client.post("agent/action/start_chat", json={})
    cleanup.finish("test_a")
    assert accounts.active_chats() == set()
    assert cleanup.sweep() == (0, 0)


def test_a_journal_that_cannot_be_written_is_a_warning_and_the_chat_still_ends(
    accounts: AccountsServer, path: Path
) -> None:
    path.parent.mkdir(mode=0o700)
    cleanup = cleanup_of(accounts, path)
    path.parent.chmod(0o777)  # not ours any more: never written
    token = agent(accounts)
    with (
        pytest.warns(CacheWarning, match="could not write the chat journal"),
        api_client(f"{accounts.url}/v3.6/", token, cleanup.watcher_of(token)) as client,
    ):
        client.post("agent/action/start_chat", json={})
    with pytest.warns(CacheWarning, match="could not update the chat journal"):
        cleanup.finish("test_a")
    assert accounts.active_chats() == set()


def test_a_server_that_cannot_be_reached_is_a_warning(accounts: AccountsServer, path: Path) -> None:
    cleanup = cleanup_of(accounts, path)
    token = agent(accounts)
    with api_client(f"{accounts.url}/v3.6/", token, cleanup.watcher_of(token)) as client:
        chat_id = client.post("agent/action/start_chat", json={}).json()["chat_id"]
    accounts.stop()
    with pytest.warns(CleanupWarning, match=f"{chat_id} .*could not reach"):
        cleanup.finish(None, everything=True)
    assert journaled(path) == [chat_id]


def test_a_sweep_takes_each_kind_s_own_cached_credential(
    accounts: AccountsServer, path: Path
) -> None:
    """A PAT from the environment; a customer and a bot with nothing cached are left."""
    basic = base64.b64encode(b"acc-1:dal:pat-token-0123456789").decode()
    accounts.pats[basic] = "acc-1"
    left_by = ChatJournal(journal_path(path), print)
    chats = {kind: accounts.start_chat()["chat_id"] for kind in ("pat", "customer", "bot")}
    for kind, chat_id in chats.items():
        name = "pat" if kind == "pat" else "someone"
        api_url = f"{accounts.url}/v3.6/"
        left_by.add(Started(chat_id, api_url, kind, name, left_by.owner, utcnow()))  # type: ignore[arg-type]
    left_by.close()
    run = make_run(
        accounts.url,
        path,
        api_url=f"{accounts.url}/v3.6/",
        environ={"LIVECHAT_PAT": "acc-1:dal:pat-token-0123456789"},
    )
    assert Cleanup(run).sweep() == (1, 2)
    assert accounts.active_chats() == {chats["customer"], chats["bot"]}
    assert identity_of(PersonalAccessToken("acc-1", "dal:pat-token-0123456789")) == ("pat", "pat")
