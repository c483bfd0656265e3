"""``_base.pat``: Personal Access Tokens (``LIVECHAT_PAT``), plain or Base64, checked."""

from __future__ import annotations

import base64

import pytest

from pytest_livechat_token._base.errors import ConfigError
from pytest_livechat_token._base.pat import from_environ


@pytest.mark.parametrize(
    "value",
    [
        "acc-1:dal:pat-token-value-123",
        base64.b64encode(b"acc-1:dal:pat-token-value-123").decode(),
        "Basic " + base64.b64encode(b"acc-1:dal:pat-token-value-123").decode(),
    ],
    ids=["plain", "base64", "basic-header"],
)
def test_a_pat_in_either_form(value: str) -> None:
    pat = from_environ({"LIVECHAT_PAT": value})
    assert pat is not None
    assert (pat.account_id, pat.token, pat.region) == ("acc-1", "dal:pat-token-value-123", "dal")
    assert pat.authorization == "Basic " + base64.b64encode(
        b"acc-1:dal:pat-token-value-123"
    ).decode("ascii")
    assert "pat-token-value" not in repr(pat)


@pytest.mark.parametrize(
    "value", [":token-without-account", "acc-1:", "bm90IGEgcGF0", "not base64!", "a b:c d e f g h"]
)
def test_a_malformed_pat_is_refused_without_echo(value: str) -> None:
    with pytest.raises(
        ConfigError, match="LIVECHAT_PAT does not hold a Personal Access Token"
    ) as e:
        from_environ({"LIVECHAT_PAT": value})
    assert value not in str(e.value)


@pytest.mark.parametrize("value", ["agent@example.com:dal:pat-token-value-123", "basic"])
def test_a_pat_of_an_e_mail_address_asks_for_the_account_id(value: str) -> None:
    if value == "basic":
        value = base64.b64encode(b"agent@example.com:dal:pat-token-value-123").decode()
    with pytest.raises(ConfigError, match="names an e-mail address as its user") as e:
        from_environ({"LIVECHAT_PAT": value})
    assert "the account id instead" in str(e.value)
    assert "example.com" not in str(e.value)
    assert "pat-token-value" not in str(e.value)
