"""VCR cassettes (pytest-recording and vcrpy, run for real): no form of a secret in a cassette,
and the plugin's own calls to the accounts server are never recorded nor answered from one."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from ..support.accounts_server import AccountsServer
from ..support.helpers import cache_pair, cache_token, run_against

pytest.importorskip("pytest_recording")


@pytest.fixture(autouse=True)
def _recording_plugin(with_plugins: None) -> None:
    """These runs use pytest-recording."""


RECORDED = """
import pytest

@pytest.mark.vcr{config}
def test_lists_chats(livechat_api):
    assert livechat_api.post("agent/action/list_chats", json={{}}).status_code == 200

@pytest.mark.vcr{config}
def test_a_second_account_in_the_test_body(livechat_bearer_for, livechat_api):
    supervisor = livechat_bearer_for("supervisor")
    assert supervisor.region == "dal"
    assert livechat_api.post("agent/action/list_chats", json={{}}).status_code == 200
"""


def cassettes_of(pytester: pytest.Pytester) -> str:
    """The cassettes' text, and every body in them as a person who opens one would read it:
    binary bodies decoded, compressed ones decompressed."""
    import yaml  # pytest-recording's cassettes are YAML

    found = sorted(pytester.path.rglob("cassettes/**/*.yaml"))
    assert found, "the run recorded cassettes"
    texts = [path.read_text() for path in found]
    for text in list(texts):
        for interaction in yaml.safe_load(text)["interactions"]:
            body = interaction["response"]["body"]["string"]
            if isinstance(body, bytes):
                plain = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
                texts.append(plain.decode("utf-8", "replace"))
    return "\n".join(texts)


@pytest.mark.parametrize(
    "config", ["", '(filter_headers=["authorization"])'], ids=["default", "filter_headers"]
)
def test_a_cassette_holds_no_secret_and_none_of_the_plugins_calls(
    pytester: pytest.Pytester, accounts: AccountsServer, cache_file: Path, config: str
) -> None:
    """Recorded with the default configuration (the token in the Authorization header) and with
    the usual ``filter_headers``, while the second account's token is renewed inside the test:
    neither the API token nor the renewal's pair is in the cassettes, nor any /v2/ call."""
    agent = accounts.issue(account_id="acc-1")
    cache_token(cache_file, accounts.url, agent, account_id="acc-1")
    stale = cache_pair(cache_file, accounts, seconds=-60)  # renewed in the test body
    pytester.makepyfile(test_recorded=RECORDED.format(config=config))
    result = run_against(pytester, accounts, "--record-mode=once")
    result.assert_outcomes(passed=2)
    assert accounts.refresh_calls == 1
    stored = cassettes_of(pytester)
    renewed = json.loads(cache_file.read_text())["entries"][accounts.url]["client-1"]["supervisor"]
    for secret in (
        agent,
        stale["refresh_token"],
        renewed["access_token"],
        renewed["refresh_token"],
    ):
        for form in (secret, secret.partition(":")[2] or secret):
            assert form not in stored
    assert "/v2/" not in stored
    assert "list_chats" in stored


def test_a_replay_never_answers_the_plugins_renewal(
    pytester: pytest.Pytester, accounts: AccountsServer, cache_file: Path
) -> None:
    """Recorded, then played back (``--record-mode=once`` with the cassette there: what it
    holds is answered from it) when the second account needs a renewal again: the renewal goes
    to the accounts server, and the cache holds the pair it gave, not one from a cassette."""
    cache_token(cache_file, accounts.url, accounts.issue(account_id="acc-1"), account_id="acc-1")
    cache_pair(cache_file, accounts, seconds=-60)
    pytester.makepyfile(test_recorded=RECORDED.format(config=""))
    run_against(pytester, accounts, "--record-mode=once").assert_outcomes(passed=2)
    cache_pair(cache_file, accounts, seconds=-60)  # stale again, with a new live refresh token
    result = run_against(pytester, accounts, "--record-mode=once")
    result.assert_outcomes(passed=2)
    assert accounts.refresh_calls == 2
    entry = json.loads(cache_file.read_text())["entries"][accounts.url]["client-1"]["supervisor"]
    assert entry["access_token"] in accounts.tokens, "a pair the accounts server issued"
    assert entry["access_token"] not in cassettes_of(pytester)


def test_block_network_does_not_stop_the_plugins_own_calls_before_the_test(
    pytester: pytest.Pytester, accounts: AccountsServer, cache_file: Path
) -> None:
    """pytest-recording's ``--block-network`` blocks sockets in the test: the token fixtures
    (session-scoped, so set up before its function-scoped guard) still renew through it."""
    cache_pair(cache_file, accounts, account="default", account_id="acc-1", seconds=-60)
    pytester.makepyfile(
        test_blocked="""
        import socket
        import pytest

        def test_renewed_then_blocked(livechat_bearer):
            assert livechat_bearer.region == "dal"
            with pytest.raises(RuntimeError, match="Network is disabled"):
                socket.create_connection(("127.0.0.1", 9))
        """
    )
    result = run_against(pytester, accounts, "--block-network")
    result.assert_outcomes(passed=1)
    assert accounts.refresh_calls == 1


REPLAYED = """
import pytest

@pytest.mark.vcr
def test_two_users_and_a_customer(livechat_bearer_for, livechat_api, livechat_customer_api):
    supervisor = livechat_bearer_for("supervisor")
    assert livechat_api.post("agent/action/list_chats", json={}).status_code == 200
    started = livechat_customer_api.post("start_chat", json={})
    assert started.status_code == 200
    assert supervisor.account == "supervisor"
"""


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_a_recording_replays_with_no_credential_and_no_cache(
    pytester: pytest.Pytester, accounts: AccountsServer, cache_file: Path, compressed: bool
) -> None:
    """Recorded with real tokens (named accounts and a customer, whose organization is in the
    Customer Chat API's URL and whose id is in its answer, gzip-compressed or not); replayed
    with ``--record-mode=none`` and no cache, no client id, no reachable accounts server:
    stand-in tokens and identities, and the recorded requests still match."""
    accounts.compress_api = compressed
    scope = "chats--all:rw,customers:own"
    agent = accounts.issue(account_id="acc-1", scope=scope)
    cache_token(cache_file, accounts.url, agent, account_id="acc-1", scope=scope)
    cache_pair(cache_file, accounts)
    pytester.makepyfile(test_replayed=REPLAYED)
    run_against(pytester, accounts, "--record-mode=once").assert_outcomes(passed=1)
    stored = cassettes_of(pytester)
    assert "org-1" not in stored, "identities are stand-ins in the cassette"
    assert "standin-organization" in stored
    (customer,) = accounts.customer_ids
    assert customer not in stored, "in the answer's body too"
    assert '"entity": "standin-customer-default"' in stored
    cache_file.unlink()
    before = len(accounts.requests)
    replay = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        f"--livechat-accounts-url={accounts.url}",
        f"--livechat-api-url={accounts.url}/v3.6",
        "--record-mode=none",
    )
    replay.assert_outcomes(passed=1)
    replay.stdout.fnmatch_lines(["livechat: replaying recordings (--record-mode=none): stand-in*"])
    assert len(accounts.requests) == before, "no call reached the server: all from the cassette"
    assert not cache_file.exists()
