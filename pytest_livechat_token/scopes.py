"""Which of the scopes a test asks for a token lacks. Pure."""

from __future__ import annotations

from collections.abc import Iterable


def granted_set(scope: str | None) -> set[str]:
    """The scopes of a token, from the space- (or comma-) separated ``scope`` it reports."""
    return set((scope or "").replace(",", " ").split())


def missing_scopes(required: Iterable[str], scope: str | None) -> list[str]:
    """The required scopes that ``scope`` does not grant, in the order asked.

    ``name:rw`` grants ``name:ro`` too, as in LiveChat.
    """
    granted = granted_set(scope)
    missing = []
    for wanted in required:
        name, _, access = wanted.rpartition(":")
        if wanted in granted or (access == "ro" and f"{name}:rw" in granted):
            continue
        missing.append(wanted)
    return missing
