"""Which scopes a token lacks: pure."""

from __future__ import annotations

import pytest

from pytest_livechat_token.scopes import granted_set, missing_scopes


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
    ],
)
def test_missing_scopes(required: list[str], scope: str, missing: list[str]) -> None:
    assert missing_scopes(required, scope) == missing
