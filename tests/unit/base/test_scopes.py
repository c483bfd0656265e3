"""Which scopes a token lacks: pure."""

from __future__ import annotations

import pytest

from pytest_livechat_token._base.scopes import granted_set, missing_scopes


def test_granted_set() -> None:
    assert granted_set("a:ro b:rw") == {"a:ro", "b:rw"}
    assert granted_set("a:ro,b:rw") == {"a:ro", "b:rw"}
    assert granted_set(None) == set()


@pytest.mark.parametrize(
    ("required", "scope", "missing"),
    [
        (["chats--all:ro"], "chats--all:ro", []),
        (["chats--all:ro"], "chats--all:rw", []),
        (["chats--all:rw"], "chats--all:ro", ["chats--all:rw"]),
        (["a:ro", "b:rw", "c"], "a:rw c", ["b:rw"]),
        (["b:rw", "a:ro"], "", ["b:rw", "a:ro"]),
        ([], "", []),
        # LiveChat's hierarchy: all > access > my, rw > ro, in any combination.
        (["chats--access:ro"], "chats--all:rw", []),
        (["chats--my:rw"], "chats--all:rw", []),
        (["agents--my:ro"], "agents--all:ro", []),
        (["chats--my:ro"], "chats--access:ro", []),
        (["chats--access:ro"], "chats--my:rw", ["chats--access:ro"]),
        (["chats--all:ro"], "chats--access:rw", ["chats--all:ro"]),
        (["chats--access:rw"], "chats--all:ro", ["chats--access:rw"]),
        (["chats--all:ro"], "agents--all:rw", ["chats--all:ro"]),
        # Scopes outside it compare by themselves (and rw grants ro).
        (["webhooks.state:ro"], "webhooks.state:rw", []),
        (["chats--groups:ro"], "chats--all:rw", ["chats--groups:ro"]),
        (["chats--groups:ro"], "chats--groups:rw", []),
        (["chats--all:ro"], "chats--groups:rw", ["chats--all:ro"]),
        (["chats--all:ro"], "chats--all:xx", ["chats--all:ro"]),
        # A chats scope grants chats.conversation at the same level and mode (not the reverse).
        (["chats.conversation--all:rw"], "chats--all:rw", []),
        (["chats.conversation--access:ro"], "chats--all:rw", []),
        (["chats.conversation--all:rw"], "chats--all:ro", ["chats.conversation--all:rw"]),
        (["chats--all:rw"], "chats.conversation--all:rw", ["chats--all:rw"]),
        # ... and a chats.conversation scope grants chats read only, at its level.
        (["chats--all:ro"], "chats.conversation--all:rw", []),
        (["chats--access:ro"], "chats.conversation--all:ro", []),
        (["chats--all:ro"], "chats.conversation--access:rw", ["chats--all:ro"]),
        # rc is read/create: it contains ro, and rw contains it.
        (["accounts--all:ro"], "accounts--all:rc", []),
        (["accounts--all:rc"], "accounts--all:rc", []),
        (["accounts--all:rc"], "accounts--all:rw", []),
        (["accounts--all:rw"], "accounts--all:rc", ["accounts--all:rw"]),
        (["accounts--all:rc"], "accounts--all:ro", ["accounts--all:rc"]),
        (["accounts--my:rc"], "accounts--all:rc", []),
    ],
)
def test_missing_scopes(required: list[str], scope: str, missing: list[str]) -> None:
    assert missing_scopes(required, scope) == missing
