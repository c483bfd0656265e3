"""The authorization code grant with PKCE on paper and against the test accounts server
(``_auth.authorize``, ``_auth.oauth``), in-process."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from pytest_livechat_token._auth.authorize import (
    authorization_url,
    code_challenge,
    new_code_verifier,
    parse_code_answer,
)
from pytest_livechat_token._base.errors import PasteRejected


def test_code_verifier() -> None:
    verifiers = {new_code_verifier() for _ in range(20)}
    assert len(verifiers) == 20
    for verifier in verifiers:
        assert 43 <= len(verifier) <= 128
        assert re.fullmatch(r"[A-Za-z0-9\-._~]+", verifier)


def test_code_challenge_matches_rfc_7636() -> None:
    # RFC 7636, appendix B.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_code_authorization_url() -> None:
    url = authorization_url(
        "https://a.test", "c1", "https://localhost", "s1", code_verifier="v" * 43
    )
    query = parse_qs(urlsplit(url).query)
    assert query == {
        "response_type": ["code"],
        "client_id": ["c1"],
        "redirect_uri": ["https://localhost"],
        "state": ["s1"],
        "code_challenge": [code_challenge("v" * 43)],
        "code_challenge_method": ["S256"],
    }


@pytest.mark.parametrize(
    "text",
    [
        "https://localhost/?code=dal%3Aabc&state=s1",
        "?state=s1&code=dal:abc",
        "code=dal%3Aabc&state=s1",
    ],
)
def test_code_answers(text: str) -> None:
    assert parse_code_answer(text, expected_state="s1") == "dal:abc"


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("", "Nothing was pasted"),
        ("https://localhost/?code=abc", "belongs to another login attempt"),
        ("https://localhost/?code=abc&state=other", "belongs to another login attempt"),
        ("dal:just-a-code-value", "has no code in it"),
        ("https://localhost/#access_token=dal%3Ax&state=s1", "token of the implicit grant"),
        ("https://localhost/?code=%00&state=s1", "damaged"),
        ("https://accounts.livechat.com/ooops?oauth_exception=access_denied", "Install it"),
        ("a b", "not one address"),
    ],
)
def test_bad_code_answers(text: str, hint: str) -> None:
    with pytest.raises(PasteRejected, match=re.escape(hint)):
        parse_code_answer(text, expected_state="s1")
