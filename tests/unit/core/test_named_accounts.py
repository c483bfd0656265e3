"""Several LiveChat users in one run (``_core.obtain.source_of(run, name)``): in-process against
the real test accounts server, a real cache on disk and a scripted person."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from pytest_livechat_token._base.bearer import utcnow
from pytest_livechat_token._base.errors import ConfigError, LoginFailed, NoTerminal
from pytest_livechat_token._core.handed import HandOff
from pytest_livechat_token._core.obtain import TokenSource, source_of
from pytest_livechat_token._store.cache import CacheEntry, TokenCache

from ...support.accounts_server import AccountsServer, redirect_fragment
from ...support.helpers import cache_pair, cache_token, make_run
from ...support.scripted import ScriptedTerminal, Step

URL_WITH_STATE = re.compile(r"\S+state=\S+")


def source(
    accounts: AccountsServer,
    path: Path,
    terminal: ScriptedTerminal | None,
    *,
    environ: dict[str, str] | None = None,
    handed: HandOff | None = None,
    grant: str = "implicit",
    account: str = "default",
) -> TokenSource:
    """The default account's source of a run where ``terminal`` is the person."""
    run = make_run(
        accounts.url, path, terminal, environ=environ, handed=handed, grant=grant, account=account
    )
    return source_of(run)


def pastes(terminal: ScriptedTerminal, token: str) -> Step:
    """The person pastes the redirect of the login shown last, carrying ``token``."""

    def step(wake: int | None) -> str:
        url = URL_WITH_STATE.findall(terminal.text)[-1]
        state = url.split("state=")[1].split("&")[0]
        return "https://localhost/" + redirect_fragment(token, state)

    return step


def logs_in_with_code(terminal: ScriptedTerminal) -> Step:
    """The person follows the code grant's address (as the server's current user) and pastes
    where the browser landed."""

    def step(wake: int | None) -> str:
        url = next(w for w in reversed(terminal.text.split()) if "code_challenge=" in w)
        return str(httpx.get(url, follow_redirects=False).headers["Location"])

    return step


def test_two_names_are_two_users_each_cached(accounts: AccountsServer, path: Path) -> None:
    first = accounts.issue(account_id="acc-1")
    second = accounts.issue(account_id="acc-2")
    person = ScriptedTerminal([])
    person.steps = [pastes(person, first), pastes(person, second)]
    default = source(accounts, path, person)
    assert default.token() == first
    shown_first = person.text
    supervisor = source_of(default.run, "supervisor").token()
    assert supervisor == second
    assert (default.token().account, default.token().account_id) == ("default", "acc-1")
    assert (supervisor.account, supervisor.account_id) == ("supervisor", "acc-2")
    assert supervisor.organization_id == "org-1"
    # The first login of all is the plain one; the second names its user and says how to be
    # someone else than the browser's current user.
    assert "Log in as the LiveChat user" not in shown_first
    shown_second = person.text[len(shown_first) :]
    assert "Log in as the LiveChat user you use as 'supervisor'." in shown_second
    assert "'default' is another user" in shown_second
    assert "private" in shown_second
    assert "log out of LiveChat" in shown_second
    assert "where you are, or will be, logged in to LiveChat as 'supervisor'" in shown_second
    assert "where you are logged in to LiveChat." in shown_first
    entries = TokenCache(path).entries()
    assert {key[2]: entry.account_id for key, entry in entries.items()} == {
        "default": "acc-1",
        "supervisor": "acc-2",
    }
    # Another process: both from the cache, nobody asked.
    later = source(accounts, path, ScriptedTerminal([]))
    assert later.token() == first
    assert source_of(later.run, "supervisor").token() == second
    assert source_of(later.run, "supervisor").token().account_id == "acc-2"


def test_the_same_user_for_two_names_is_refused_and_asked_again(
    accounts: AccountsServer, path: Path
) -> None:
    cache_token(path, accounts.url, accounts.issue(account_id="acc-1"), account_id="acc-1")
    again = accounts.issue(account_id="acc-1")
    other = accounts.issue(account_id="acc-2")
    person = ScriptedTerminal([])
    person.steps = [pastes(person, again), pastes(person, other)]
    token = source_of(source(accounts, path, person).run, "supervisor").token()
    assert token == other
    assert person.prompts == 2
    assert (
        "That is the LiveChat user cached as 'default' (account acc-1), not another one for "
        "'supervisor'." in person.text
    )
    assert "Try again (2 tries left)." in person.text
    cached = TokenCache(path).get(accounts.url, "client-1", "supervisor")
    assert cached is not None
    assert cached.access_token == other


def test_a_user_cached_without_its_id_is_asked_for_before_another_name(
    accounts: AccountsServer, path: Path
) -> None:
    """``/v2/info`` was down at the first name's login, so its entry has no account id: the
    second name's login asks the accounts server who that cached token is, and refuses the
    same user."""
    cache_token(path, accounts.url, accounts.issue(account_id="acc-1"))  # no account_id
    person = ScriptedTerminal([])
    person.steps = [
        pastes(person, accounts.issue(account_id="acc-1")),
        pastes(person, accounts.issue(account_id="acc-2")),
    ]
    token = source_of(source(accounts, path, person).run, "supervisor").token()
    assert token.account_id == "acc-2"
    assert "That is the LiveChat user cached as 'default' (account acc-1)" in person.text


def test_a_user_the_accounts_server_cannot_name_is_not_taken_for_another_name(
    accounts: AccountsServer, path: Path
) -> None:
    """``/v2/info`` down at the second name's login: which user the token is cannot be told,
    so it is refused (never cached under a second name), and the login says why."""
    cache_token(path, accounts.url, accounts.issue(account_id="acc-1"), account_id="acc-1")
    accounts.fixed[("GET", "/v2/info")] = (503, b"", {})
    person = ScriptedTerminal([])
    person.steps = [pastes(person, accounts.issue(account_id="acc-1")) for _ in range(3)]
    with pytest.raises(LoginFailed):
        source_of(source(accounts, path, person).run, "supervisor").token()
    assert "could not say which user this is, so it cannot be told apart from 'default'" in (
        " ".join(person.text.split())
    )
    assert TokenCache(path).get(accounts.url, "client-1", "supervisor") is None


def test_the_same_user_three_times_ends_the_login(accounts: AccountsServer, path: Path) -> None:
    cache_token(path, accounts.url, accounts.issue(account_id="acc-1"), account_id="acc-1")
    person = ScriptedTerminal([])
    person.steps = [pastes(person, accounts.issue(account_id="acc-1")) for _ in range(3)]
    viewer = source_of(source(accounts, path, person).run, "viewer")
    with pytest.raises(LoginFailed, match="after 3 unusable answers"):
        viewer.token()
    with pytest.raises(LoginFailed):  # not asked again in this process
        viewer.token()
    assert person.prompts == 3
    assert TokenCache(path).get(accounts.url, "client-1", "viewer") is None


@pytest.mark.parametrize("ids_in_answer", [True, False], ids=["ids-in-answer", "ids-by-info"])
def test_code_grant_learns_each_user(
    accounts: AccountsServer, path: Path, ids_in_answer: bool
) -> None:
    """The code grant's ``POST /v2/token`` answer names the user; when it does not, ``/v2/info``
    is asked once."""
    accounts.ids_in_token_answer = ids_in_answer
    person = ScriptedTerminal([])
    person.steps = [logs_in_with_code(person), logs_in_with_code(person)]
    default = source(accounts, path, person, grant="code")
    assert default.token().account_id == "acc-1"
    accounts.user = "acc-2"  # the person logs in as someone else in a private window
    supervisor = source_of(default.run, "supervisor").token()
    assert supervisor.account_id == "acc-2"
    assert supervisor.organization_id == "org-1"
    assert accounts.count("GET", "/v2/info") == (0 if ids_in_answer else 2)
    entry = TokenCache(path).get(accounts.url, "client-1", "supervisor")
    assert entry is not None
    assert entry.refresh_token is not None
    assert entry.account_id == "acc-2"


def test_renewal_keeps_the_accounts_user(accounts: AccountsServer, path: Path) -> None:
    """A renewal is of the same user: its account id stays, also when the answer omits it."""
    accounts.ids_in_token_answer = False
    pair = cache_pair(path, accounts, seconds=-60)
    renewed = source_of(source(accounts, path, None).run, "supervisor").token()
    assert renewed != pair["access_token"]
    assert (renewed.account, renewed.account_id) == ("supervisor", "acc-2")
    entry = TokenCache(path).get(accounts.url, "client-1", "supervisor")
    assert entry is not None
    assert entry.account_id == "acc-2"
    assert TokenCache(path).get(accounts.url, "client-1") is None, "default untouched"


def test_env_tokens_by_name(accounts: AccountsServer, path: Path) -> None:
    environ = {
        "LIVECHAT_BEARER_TOKEN": "dal:default-env-token",
        "LIVECHAT_BEARER_TOKEN_READ_ONLY": "Bearer fra%3Aread-only-env-token",
    }
    default = source(accounts, path, None, environ=environ)
    assert default.token() == "dal:default-env-token"
    read_only = source_of(default.run, "read-only").token()
    assert read_only == "fra:read-only-env-token"
    assert (read_only.account, read_only.account_id) == ("read-only", None)
    with pytest.raises(NoTerminal, match="LIVECHAT_BEARER_TOKEN_SUPERVISOR"):
        source_of(default.run, "supervisor").token()
    assert accounts.requests == []


def test_the_default_account_takes_the_plain_env_token(
    accounts: AccountsServer, path: Path
) -> None:
    """``--livechat-account=viewer``: ``LIVECHAT_BEARER_TOKEN`` is the viewer's token, and the
    account named ``default`` is just another name."""
    environ = {"LIVECHAT_BEARER_TOKEN": "dal:viewer-env-token"}
    viewer = source(accounts, path, None, environ=environ, account="viewer")
    assert viewer.token() == "dal:viewer-env-token"
    assert viewer.token().account == "viewer"
    with pytest.raises(NoTerminal, match="LIVECHAT_BEARER_TOKEN_DEFAULT"):
        source_of(viewer.run, "default").token()


def test_each_handed_account_is_its_own(accounts: AccountsServer, path: Path) -> None:
    expires = (utcnow() + timedelta(hours=1)).isoformat()
    first, second = accounts.issue(), accounts.issue(account_id="acc-2")
    handed: HandOff = {
        "accounts": {
            "default": {"token": first, "expires_at": expires, "account_id": "acc-1"},
            "supervisor": {"token": second, "expires_at": expires, "account_id": "acc-2"},
        }
    }
    worker = source(accounts, path, None, handed=handed)
    assert worker.token() == first
    assert source_of(worker.run, "supervisor").token() == second
    assert source_of(worker.run, "supervisor").token().account_id == "acc-2"
    with pytest.raises(NoTerminal, match="for 'viewer'"):
        source_of(worker.run, "viewer").token()
    assert accounts.requests == []


@pytest.mark.parametrize("name", ["", "Supervisor", "-x", "a" * 33, "a b", "a/../b", "é"])
def test_a_name_that_breaks_the_rule_is_refused(
    accounts: AccountsServer, path: Path, name: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape("[a-z0-9][a-z0-9_-]{0,31}")):
        source_of(source(accounts, path, None).run, name)


def test_a_renewal_of_one_account_does_not_wait_for_a_login_of_another(
    accounts: AccountsServer, path: Path
) -> None:
    """Each account has its own login lock: while 'default' is being logged in (its lock held),
    another account's renewal goes ahead."""
    pair = cache_pair(path, accounts, seconds=-60)
    cache = TokenCache(path)
    with cache.locks.login(1, lambda: pytest.fail("free")):
        renewed = source_of(source(accounts, path, None).run, "supervisor").token()
    assert renewed != pair["access_token"]


def test_cache_entries_carry_the_user(tmp_path: Path) -> None:
    cache = TokenCache(tmp_path / "c" / "tokens.json")
    now = utcnow()
    entry = CacheEntry(
        "dal:a-token-value",
        now + timedelta(hours=1),
        now,
        account_id="acc-9",
        organization_id="org-9",
    )
    cache.put("https://a.test", "c1", entry, "supervisor")
    document = json.loads(cache.path.read_text())
    raw = document["entries"]["https://a.test"]["c1"]["supervisor"]
    assert (raw["account_id"], raw["organization_id"]) == ("acc-9", "org-9")
    assert cache.get("https://a.test", "c1", "supervisor") == entry
    bearer = entry.bearer("supervisor")
    assert (bearer.account, bearer.account_id, bearer.organization_id) == (
        "supervisor",
        "acc-9",
        "org-9",
    )


@pytest.mark.parametrize(
    ("account", "raw_id"),
    [("../escape", "acc-1"), ("Upper", "acc-1"), ("default", 7), ("default", "a\nb")],
)
def test_a_hostile_account_name_or_id_in_the_file_is_a_damaged_entry(
    tmp_path: Path, account: str, raw_id: object
) -> None:
    cache = TokenCache(tmp_path / "c" / "tokens.json")
    now = utcnow()
    raw = CacheEntry("dal:a-token-value", now + timedelta(hours=1), now).to_json()
    raw["account_id"] = raw_id
    cache.path.parent.mkdir(mode=0o700)
    cache.path.write_text(
        json.dumps({"version": 2, "entries": {"https://a.test": {"c1": {account: raw}}}})
    )
    cache.path.chmod(0o600)
    with pytest.warns(UserWarning, match="1 damaged entry"):
        assert cache.entries() == {}
