"""``_core.bots``: bot identities (Configuration API > Bots), in-process against the real test
server and real files: made once, the same bot in later runs, a token issued when none with
min-ttl is cached, and each refusal one line with nothing cached that does not work."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pytest_livechat_token._api.clients import api_client
from pytest_livechat_token._base.bearer import BearerToken, BotToken, utcnow
from pytest_livechat_token._base.errors import CacheWarning, MissingScope, NotConfigured
from pytest_livechat_token._core.bots import NAME_PREFIX, BotFailed, BotSource
from pytest_livechat_token._core.handed import bot_of
from pytest_livechat_token._core.handoff import payload
from pytest_livechat_token._rtm.frames import RtmUnavailable, rtm_url
from pytest_livechat_token._rtm.session import open_session
from pytest_livechat_token._store.cache import TokenCache

from ...support.accounts_server import AccountsServer
from ...support.helpers import cache_token, make_run
from ...support.rtm_server import RtmServer

BOT_SCOPE = "chats--all:rw,agents-bot--my:rw"
CREATE = "/v3.6/configuration/action/create_bot"
ISSUE = "/v3.6/configuration/action/issue_bot_token"


def bots(accounts: AccountsServer, path: Path, **kwargs: Any) -> BotSource:
    """The bots of a run with nobody to ask, its API at the test server."""
    return BotSource(make_run(accounts.url, path, api_url=f"{accounts.url}/v3.6/", **kwargs))


def agent(accounts: AccountsServer, path: Path, scope: str = BOT_SCOPE) -> str:
    token = accounts.issue(scope=scope)
    cache_token(path, accounts.url, token, account_id="acc-1", scope=scope)
    return token


def cached(accounts: AccountsServer, path: Path, name: str = "greeter") -> Any:
    return TokenCache(path).get_bot(f"{accounts.url}/v3.6/", "client-1", name)


def test_a_bot_is_made_once_and_is_the_same_bot_in_later_runs(
    accounts: AccountsServer, path: Path
) -> None:
    agent(accounts, path)
    token = bots(accounts, path).token("greeter")
    assert isinstance(token, BotToken)
    (bot_id,) = accounts.bots
    made = accounts.bots[bot_id]
    assert (token.bot_id, token.name, token.organization_id) == (bot_id, "greeter", "org-1")
    assert made.name == NAME_PREFIX + "greeter"
    assert made.owner_client_id == "client-1"
    assert accounts.bot_tokens[token] == bot_id
    assert token.authorization == f"Bearer {token}"
    assert str(token) not in repr(token)
    assert token.expires_at is not None
    assert timedelta(hours=23) < token.expires_at - utcnow() <= timedelta(hours=24)
    # Another run: the cached token, no call.
    again = bots(accounts, path).token("greeter")
    assert (again, again.bot_id) == (token, bot_id)
    assert (accounts.count("POST", CREATE), accounts.count("POST", ISSUE)) == (1, 1)
    # The token works with the Agent Chat API as the bot.
    assert accounts.tokens[token].account_id == bot_id


def test_the_secret_is_cached_privately_and_a_new_token_is_issued_for_the_same_bot(
    accounts: AccountsServer, path: Path
) -> None:
    agent(accounts, path)
    first = bots(accounts, path).token("greeter")
    entry = cached(accounts, path)
    assert entry.secret == accounts.bots[first.bot_id].secret
    assert entry.secret not in repr(entry)
    assert path.stat().st_mode & 0o777 == 0o600
    stale = entry._replace(expires_at=utcnow() + timedelta(seconds=60))
    TokenCache(path).put_bot(f"{accounts.url}/v3.6/", "client-1", "greeter", stale)
    renewed = bots(accounts, path).token("greeter")
    assert renewed != first
    assert renewed.bot_id == first.bot_id
    assert len(accounts.bots) == 1
    assert accounts.count("POST", ISSUE) == 2


def test_a_bot_deleted_outside_the_tests_is_made_again_once_with_one_line(
    accounts: AccountsServer, path: Path
) -> None:
    agent(accounts, path)
    first = bots(accounts, path).token("greeter")
    stale = cached(accounts, path)._replace(access_token=None, expires_at=None, obtained_at=None)
    TokenCache(path).put_bot(f"{accounts.url}/v3.6/", "client-1", "greeter", stale)
    accounts.bots.clear()  # deleted in the LiveChat app
    with pytest.warns(CacheWarning, match="was deleted outside the tests; a new one is made"):
        token = bots(accounts, path).token("greeter")
    assert token.bot_id != first.bot_id
    assert list(accounts.bots) == [token.bot_id]
    assert cached(accounts, path).bot_id == token.bot_id


def test_a_credential_that_may_not_make_bots_asks_nothing(
    accounts: AccountsServer, path: Path
) -> None:
    agent(accounts, path, scope="chats--all:rw")
    source = bots(accounts, path)
    with pytest.raises(MissingScope, match="needs the agents-bot--my:rw scope"):
        source.token("greeter")
    assert accounts.count("POST", CREATE) == 0
    with pytest.raises(MissingScope):  # not asked again in the run
        source.token("greeter")
    assert cached(accounts, path) is None


def test_the_servers_refusal_of_the_scope_is_a_missing_scope(
    accounts: AccountsServer, path: Path
) -> None:
    """An environment token's scopes are unknown: the server's 403 says it."""
    token = accounts.issue(scope="chats--all:rw")
    environ = {"LIVECHAT_BEARER_TOKEN": token}
    with pytest.raises(MissingScope, match="agents-bot--my:rw"):
        bots(accounts, path, environ=environ).token("greeter")
    assert accounts.count("POST", CREATE) == 1
    assert accounts.bots == {}
    assert not path.exists(), "nothing cached"


def test_a_secret_livechat_refuses_is_one_line_and_no_token_is_cached(
    accounts: AccountsServer, path: Path
) -> None:
    agent(accounts, path)
    first = bots(accounts, path).token("greeter")
    accounts.bots[first.bot_id].secret = "reset-elsewhere-0123456789"
    stale = cached(accounts, path)._replace(access_token=None, expires_at=None, obtained_at=None)
    TokenCache(path).put_bot(f"{accounts.url}/v3.6/", "client-1", "greeter", stale)
    with pytest.raises(BotFailed) as raised:
        bots(accounts, path).token("greeter")
    message = str(raised.value)
    assert "\n" not in message
    assert "HTTP 403: authorization" in message
    assert "drop it with the drop_bot setting" in message, "the front end's words for it"
    assert cached(accounts, path).access_token is None, "no token that does not work"
    assert stale.secret not in message


def test_a_cached_bot_of_another_organization_is_refused_before_any_call(
    accounts: AccountsServer, path: Path
) -> None:
    agent(accounts, path)
    bots(accounts, path).token("greeter")
    other = cached(accounts, path)._replace(organization_id="org-2", access_token=None)
    TokenCache(path).put_bot(f"{accounts.url}/v3.6/", "client-1", "greeter", other)
    with pytest.raises(BotFailed, match="is of organization org-2, and 'default' of org-1"):
        bots(accounts, path).token("greeter")
    assert accounts.count("POST", ISSUE) == 1


def test_a_pat_makes_the_bot_with_the_organization_named_in_the_environment(
    accounts: AccountsServer, path: Path
) -> None:
    basic = base64.b64encode(b"acc-1:dal:pat-token-0123456789").decode()
    accounts.pats[basic] = "acc-1"
    environ = {"LIVECHAT_PAT": "acc-1:dal:pat-token-0123456789"}
    with pytest.raises(BotFailed, match="needs the organization's id in LIVECHAT_ORGANIZATION_ID"):
        bots(accounts, path, environ=environ).token("greeter")
    environ["LIVECHAT_ORGANIZATION_ID"] = "org-1"
    token = bots(accounts, path, environ=environ).token("greeter")
    assert accounts.bots[token.bot_id].owner_client_id == "client-1"
    assert cached(accounts, path).agent == "pat"


def test_a_worker_is_handed_the_token_and_never_the_secret(
    accounts: AccountsServer, path: Path
) -> None:
    agent(accounts, path)
    token = bots(accounts, path).token("greeter")
    run = make_run(accounts.url, path, api_url=f"{accounts.url}/v3.6/")
    handed = json.loads(json.dumps(payload(run)))
    assert handed["bots"]["greeter"]["token"] == token
    assert cached(accounts, path).secret not in json.dumps(handed)
    worker = bot_of(handed, "greeter", utcnow())
    assert worker is not None
    assert (worker, worker.bot_id) == (token, token.bot_id)
    # A worker whose cache is empty takes the handed token: no call.
    elsewhere = path.parent / "elsewhere" / "tokens.json"
    source = BotSource(
        make_run(accounts.url, elsewhere, api_url=f"{accounts.url}/v3.6/", handed=handed)
    )
    assert source.token("greeter") == token
    assert accounts.count("POST", ISSUE) == 1


def test_the_agent_chat_api_takes_a_bot_token_and_rtm_refuses_it(
    accounts: AccountsServer, rtm_server: RtmServer, path: Path
) -> None:
    """As LiveChat does: "bots cannot open an RTM connection"."""
    agent(accounts, path)
    token = bots(accounts, path).token("greeter")
    assert token.count(".") == 2, "JWT-shaped: header.payload.signature"
    with api_client(f"{accounts.url}/v3.6/", token) as client:
        assert client.post("agent/action/list_chats", json={}).status_code == 200
    url = rtm_url(rtm_server.url, "agent", "org-1")
    with pytest.raises(RtmUnavailable, match="authentication"):
        open_session(url, BearerToken(str(token)), who="agent")


def test_without_a_client_id_there_is_no_bot(accounts: AccountsServer, path: Path) -> None:
    with pytest.raises(NotConfigured, match="bot tokens need the LiveChat app's client id"):
        bots(accounts, path, client_id=None).token("greeter")


def test_a_run_asks_once_a_name(accounts: AccountsServer, path: Path) -> None:
    agent(accounts, path)
    source = bots(accounts, path)
    assert source.token("greeter") is source.token("greeter")
    assert accounts.count("POST", ISSUE) == 1


@pytest.mark.parametrize("knows", ["nothing", "no organization"])
def test_an_environment_token_s_organization_is_asked_of_v2_info(
    accounts: AccountsServer, path: Path, knows: str
) -> None:
    token = accounts.issue(scope=BOT_SCOPE)
    if knows == "no organization":
        accounts.tokens[token].organization_id = None  # type: ignore[assignment]
    environ = {"LIVECHAT_BEARER_TOKEN": token if knows != "nothing" else "dal:unknown-0123456789"}
    with pytest.raises(BotFailed, match="organization") as raised:
        bots(accounts, path, environ=environ).token("greeter")
    assert "\n" not in str(raised.value)
    assert accounts.count("POST", CREATE) == 0


@pytest.mark.parametrize(
    ("method", "answer", "said"),
    [
        (
            CREATE,
            (400, b'{"error": {"type": "validation"}}', {}),
            "Could not make the LiveChat bot",
        ),
        (CREATE, (502, b"bad gateway", {}), "Could not make the LiveChat bot"),
        (ISSUE, (502, b"bad gateway", {}), "Could not get a token for the LiveChat bot"),
    ],
)
def test_each_other_refusal_is_one_line_and_what_was_made_stays(
    accounts: AccountsServer,
    path: Path,
    method: str,
    answer: tuple[int, bytes, dict[str, str]],
    said: str,
) -> None:
    agent(accounts, path)
    accounts.fixed[("POST", method)] = answer
    with pytest.raises(BotFailed, match=said) as raised:
        bots(accounts, path).token("greeter")
    assert "\n" not in str(raised.value)
    entry = cached(accounts, path)
    if method == ISSUE:  # the bot was made: its id and secret are kept, with no token
        assert (entry.bot_id, entry.access_token) == (next(iter(accounts.bots)), None)
    else:
        assert entry is None


def test_a_bot_that_cannot_be_stored_serves_the_run_with_a_warning(
    accounts: AccountsServer, path: Path
) -> None:
    token = accounts.issue(scope=BOT_SCOPE)
    path.parent.mkdir(mode=0o700)
    path.write_text(json.dumps({"version": 99}))  # a newer release's: never overwritten
    path.chmod(0o600)
    environ = {"LIVECHAT_BEARER_TOKEN": token}
    with pytest.warns(CacheWarning) as warned:
        bot = bots(accounts, path, environ=environ).token("greeter")
    said = [str(warning.message) for warning in warned]
    assert any("could not store the LiveChat bot 'greeter'" in text for text in said)
    assert json.loads(path.read_text()) == {"version": 99}
    assert accounts.bot_tokens[bot] == bot.bot_id
