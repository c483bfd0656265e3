"""Which of the scopes a test asks for a token lacks. Pure.

LiveChat's rules (Authorization > Scopes, "General rules"): ``ro`` is read only, ``rw``
read/write, ``rc`` read/create; all ``rw`` scopes contain ``ro``; all ``access`` scopes contain
``my``; all ``all`` scopes contain ``access`` and ``my``. ``rc`` contains ``ro`` (it reads), and
``rw`` is taken to contain ``rc`` (an administrator's ``accounts--all:rw`` covers a member's
``accounts--all:rc``): a test its token can run is never skipped. A scope is
``resource--level:mode`` (``chats--all:rw``); one without a level (``webhooks.state:ro``) or
with another one (``chats--groups:ro``) is granted by itself and by the modes above it only. A
``chats`` scope also grants the same level and mode of ``chats.conversation``, and a
``chats.conversation`` scope grants ``chats`` read only, at its level.
"""

from __future__ import annotations

from collections.abc import Iterable

_LEVELS = {"my": 0, "access": 1, "all": 2}
_MODES = {"ro": 0, "rc": 1, "rw": 2}


def granted_set(scope: str | None) -> set[str]:
    """The scopes of a token, from the comma- (or space-) separated ``scope`` it reports."""
    return set((scope or "").replace(",", " ").split())


def _parts(scope: str) -> tuple[str, str | None, str]:
    """``chats--all:rw`` -> (``chats``, ``all``, ``rw``); a level outside the hierarchy stays
    part of the name."""
    name, _, mode = scope.rpartition(":")
    resource, separator, level = name.rpartition("--")
    if separator and level in _LEVELS:
        return resource, level, mode
    return name, None, mode


def _grants(held: str, wanted: str) -> bool:
    if held == wanted:
        return True
    held_name, held_level, held_mode = _parts(held)
    name, level, mode = _parts(wanted)
    if held_name == "chats" and name == "chats.conversation":
        name = "chats"
    elif held_name == "chats.conversation" and name == "chats" and mode == "ro":
        name = "chats.conversation"
    if held_name != name or held_mode not in _MODES or mode not in _MODES:
        return False
    if _MODES[held_mode] < _MODES[mode]:
        return False
    if level is None or held_level is None:
        return level == held_level
    return _LEVELS[held_level] >= _LEVELS[level]


def missing_scopes(required: Iterable[str], scope: str | None) -> list[str]:
    """The required scopes that ``scope`` does not grant, in the order asked."""
    granted = granted_set(scope)
    return [wanted for wanted in required if not any(_grants(held, wanted) for held in granted)]
