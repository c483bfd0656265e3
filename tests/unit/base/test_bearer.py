"""BearerToken and the expiry arithmetic: pure."""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta, timezone

import pytest

from pytest_livechat_token import BearerToken, CustomerToken
from pytest_livechat_token._base.bearer import (
    describe_duration,
    expires_at_from,
    is_usable,
    mask,
    region_of,
    seconds_left,
)

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)
SECRET = "dal:Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA"


def test_is_the_token_itself() -> None:
    token = BearerToken(SECRET, expires_at=NOW)
    assert token == SECRET
    assert f"{token}" == SECRET
    assert token.authorization == f"Bearer {SECRET}"
    assert token.expires_at == NOW


@pytest.mark.parametrize(
    ("value", "region"),
    [
        ("dal:abc", "dal"),
        ("fra:abc", "fra"),
        ("fra-a:abc", "fra-a"),
        ("abcdef", None),
        (":abc", None),
    ],
)
def test_region(value: str, region: str | None) -> None:
    assert region_of(value) == region
    assert BearerToken(value).region == region


def test_repr_is_masked() -> None:
    shown = repr(BearerToken(SECRET, expires_at=NOW))
    assert SECRET not in shown
    assert SECRET[4:-4] not in shown
    assert shown.startswith("BearerToken('dal:…")
    assert shown.endswith(
        f"{SECRET[-4:]}', account='default', account_id=None, "
        "expires_at='2026-11-29T12:00:00+00:00')"
    )


@pytest.mark.parametrize("short", ["dal:abcdefgh", "abcdefgh", "x"])
def test_short_tokens_show_no_characters_at_all(short: str) -> None:
    assert short.rsplit(":", maxsplit=1)[-1][-4:] not in mask(short)


def test_pickle_keeps_what_is_known() -> None:
    token = BearerToken(SECRET, expires_at=NOW, scope="chats--all:ro")
    again = pickle.loads(pickle.dumps(token))  # noqa: S301 - our own data
    assert again == token
    assert (again.expires_at, again.scope) == (NOW, "chats--all:ro")
    named = BearerToken(SECRET, account="viewer", account_id="acc-2", organization_id="org-1")
    copied = pickle.loads(pickle.dumps(named))  # noqa: S301
    assert type(copied) is BearerToken
    assert (copied.account, copied.account_id, copied.organization_id) == (
        "viewer",
        "acc-2",
        "org-1",
    )
    customer = CustomerToken(SECRET, entity_id="e-1", organization_id="org-1", expires_at=NOW)
    back = pickle.loads(pickle.dumps(customer))  # noqa: S301
    assert type(back) is CustomerToken
    assert (back, back.entity_id, back.organization_id, back.expires_at, back.name) == (
        SECRET,
        "e-1",
        "org-1",
        NOW,
        "default",
    )


def test_expiry_arithmetic() -> None:
    expires_at = expires_at_from(28800, NOW)
    assert expires_at == NOW + timedelta(hours=8)
    assert seconds_left(expires_at, NOW) == 28800
    assert is_usable(expires_at, 600, NOW)
    assert is_usable(expires_at, 600, expires_at - timedelta(seconds=600))
    assert not is_usable(expires_at, 600, expires_at - timedelta(seconds=599))
    assert not is_usable(None, 0, NOW)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(28799, "7 h 59 min"), (3600, "1 h 0 min"), (180, "3 min"), (40, "40 s"), (-5, "0 s")],
)
def test_describe_duration(seconds: float, text: str) -> None:
    assert describe_duration(seconds) == text
