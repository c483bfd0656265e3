"""The secrets this process knows, and text with them masked. Pure, and light: the plugin
imports it at start-up.

Every token the plugin obtains (access and refresh tokens, ``LIVECHAT_BEARER_TOKEN``) is
remembered here; the pytest glue runs what pytest reports and writes through ``scrub``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote

_MIN_SECRET = 8
_MIN_PIECE = 8  # a cut-off part of a secret this long or longer is masked too
_RUN = r"[A-Za-z0-9._~+/=:%-]{8,}"  # {_MIN_PIECE,}; compiled at first use (start-up cost)

_secrets: dict[str, str] = {}  # every form of a secret -> what is shown instead
_longest_first: list[str] = []  # the forms, longest first: sorted when one is added, not per match
_listeners: list[Callable[[str], None]] = []  # told of each new form (the CI runner's masking)


def remember(*secrets: str | None) -> None:
    """Mask these from now on: as they are, URL-encoded, and without their region prefix."""
    from .bearer import mask, region_of  # not needed before the first secret

    for secret in secrets:
        if not secret or len(secret) < _MIN_SECRET or secret in _secrets:
            continue
        shown = mask(secret)
        region = region_of(secret)
        forms = {secret, quote(secret, safe="")}
        if region and len(secret) - len(region) - 1 >= _MIN_SECRET:
            forms.add(secret[len(region) + 1 :])
        new = [form for form in sorted(forms) if form not in _secrets]
        for form in new:
            _secrets[form] = shown
        _longest_first[:] = sorted(_secrets, key=len, reverse=True)
        for form in new:
            for listener in _listeners:
                listener(form)


def listen(listener: Callable[[str], None]) -> None:
    """Tell ``listener`` every form of every secret: those known now, and each new one the
    moment it is remembered (before anything could show it)."""
    _listeners.append(listener)
    for form in list(_secrets):
        listener(form)


def forget_all() -> None:
    """For tests: no secret is known any more, and nobody listens."""
    _secrets.clear()
    _longest_first.clear()
    _listeners.clear()


def known() -> bool:
    return bool(_secrets)


def contains(text: str) -> bool:
    """Whether ``text`` holds a known secret, or a piece of one cut at either end."""
    return bool(_secrets) and scrub(text) != text


def scrub(text: str) -> str:
    """``text`` with every known secret masked, also where a repr cut it short (``dal:Ab...``);
    ``text`` itself when it holds none (what is keyed by a string's identity stays found)."""
    if not _secrets or not text:
        return text
    masked = re.sub(_RUN, _masked_run, text)
    return text if masked == text else masked  # the same object when nothing was masked


def _masked_run(match: re.Match[str]) -> str:
    run = match.group()
    forms = _longest_first
    for form in forms:
        if form in run:
            run = run.replace(form, _secrets[form])
    if "…" in run:
        return run
    for form in forms:
        if run in form:
            return "…"
        # A piece cut off by a repr that shortens long values ("dal:Ab...yz"): the longest
        # start or end of a secret, 8 characters or more, found in the run.
        for piece in (form[:_MIN_PIECE], form[-_MIN_PIECE:]):
            if piece in run:
                run = _mask_pieces(run, form)
                break
    return run


def _mask_pieces(run: str, form: str) -> str:
    for size in range(len(form) - 1, _MIN_PIECE - 1, -1):
        for piece in (form[:size], form[-size:]):
            if piece in run:
                run = run.replace(piece, "…")
    return run
