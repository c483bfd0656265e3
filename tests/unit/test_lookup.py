"""``lookup.find``: the order a token is looked for, and what each source is checked for."""

from __future__ import annotations

import pytest

from pytest_livechat_token import redact
from pytest_livechat_token.errors import (
    ConfigError,
)

from ..support.inprocess import (
    env_only,
)


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
