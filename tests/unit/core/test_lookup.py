"""``lookup.find``: the order a token is looked for, and what each source is checked for."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_livechat_token._base import redact
from pytest_livechat_token._base.errors import ConfigError
from pytest_livechat_token._core.obtain import source_of

from ...support.accounts_server import AccountsServer
from ...support.helpers import make_run
from ...support.inprocess import env_only


@pytest.mark.parametrize(
    "value", ["dal:abc\ndef-ghi-jkl", "dal:abc def-ghi", "dal:ab\x1b[2Jcdefgh"]
)
def test_malformed_env_token_is_refused_without_echo(value: str) -> None:
    source = env_only({"LIVECHAT_BEARER_TOKEN": value})
    with pytest.raises(
        ConfigError, match="LIVECHAT_BEARER_TOKEN does not hold a LiveChat token"
    ) as raised:
        source.token()
    assert value not in str(raised.value)
    assert "abc" not in str(raised.value)


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("garbage", "7 characters are too few for one (a token has dozens)"),
        ("dal:" + "x" * 5000, "5004 characters are too many for one"),
        ("dal:abc def-ghi", "some of them (spaces, newlines, quotes or others)"),
    ],
    ids=["short", "long", "characters"],
)
def test_a_malformed_env_token_says_what_is_wrong_with_it(value: str, said: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(said)):
        env_only({"LIVECHAT_BEARER_TOKEN": value}).token()


@pytest.mark.parametrize(
    "value",
    [
        "dal:abcdefgh-1234",
        "dal%3Aabcdefgh-1234",
        "Bearer dal:abcdefgh-1234",
        " dal:abcdefgh-1234\n",
    ],
)
def test_env_token_is_read_as_a_paste_is(value: str) -> None:
    token = env_only({"LIVECHAT_BEARER_TOKEN": value}).token()
    assert token == "dal:abcdefgh-1234"
    assert token.region == "dal"
    assert redact.scrub("x dal:abcdefgh-1234 y") == "x dal:… y"


def test_two_names_that_would_read_one_variable_are_refused(
    accounts: AccountsServer, tmp_path: Path
) -> None:
    """``read-only`` and ``read_only`` both map to ``LIVECHAT_BEARER_TOKEN_READ_ONLY``: the
    second one used in a run is a ConfigError naming both, never the other name's token."""
    run = make_run(
        accounts.url,
        tmp_path / "c" / "tokens.json",
        environ={"LIVECHAT_BEARER_TOKEN_READ_ONLY": "dal:read-only-token-1234"},
    )
    assert source_of(run, "read-only").token() == "dal:read-only-token-1234"
    with pytest.raises(ConfigError, match="'read-only' and 'read_only' would both read"):
        source_of(run, "read_only")
