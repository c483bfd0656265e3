"""``redact``: every form of a known secret, and pieces of it, masked."""

from __future__ import annotations

from urllib.parse import quote

from pytest_livechat_token._base import redact


def test_scrub_masks_every_form_and_cut_pieces() -> None:
    secret = "dal:Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA-secret"
    redact.remember(secret)
    assert redact.scrub(f"Bearer {secret}!") == "Bearer dal:…cret!"
    assert redact.scrub(quote(secret, safe="")) == "dal:…cret"
    assert secret[4:] not in redact.scrub(f"x={secret[4:]}")
    cut = f"{{'padding': 'x', 'Authorization': 'Bearer {secret[:20]}...{secret[-12:]}'}}"
    scrubbed = redact.scrub(cut)
    assert secret[4:20] not in scrubbed
    assert secret[-12:] not in scrubbed
    assert redact.scrub("nothing secret here, dal:other-token-1234") == (
        "nothing secret here, dal:other-token-1234"
    )
