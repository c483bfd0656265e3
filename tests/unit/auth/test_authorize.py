"""Building the authorization URL and reading what was pasted: pure."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from pytest_livechat_token._auth.authorize import (
    Grant,
    answer_state,
    authorization_url,
    explain_error,
    new_state,
    parse_paste,
)
from pytest_livechat_token._auth.terminal import shown
from pytest_livechat_token._base.errors import (
    PasteRejected,
)

TOKEN = "dal:Abc-123_xyzQWERTYuiop"
ENCODED = "dal%3AAbc-123_xyzQWERTYuiop"
STATE = "state-123"


def parse(text: str, state: str | None = STATE) -> Grant:
    return parse_paste(
        text, expected_state=state, client_id="client-1", redirect_uri="https://localhost"
    )


def rejected(text: str, state: str | None = STATE) -> str:
    with pytest.raises(PasteRejected) as info:
        parse(text, state)
    return str(info.value)


def test_authorization_url() -> None:
    url = authorization_url("https://accounts.livechat.com/", "abc", "https://localhost", "s1")
    assert url == (
        "https://accounts.livechat.com/?response_type=token&client_id=abc"
        "&redirect_uri=https%3A%2F%2Flocalhost&state=s1"
    )


def test_url_encodes_everything_it_carries() -> None:
    url = authorization_url("http://127.0.0.1:5000", "a&b", "http://localhost:8000/cb?x=1", "s")
    query = parse_qs(urlsplit(url).query)
    assert query == {
        "response_type": ["token"],
        "client_id": ["a&b"],
        "redirect_uri": ["http://localhost:8000/cb?x=1"],
        "state": ["s"],
    }


def test_states_are_fresh_and_long() -> None:
    states = {new_state() for _ in range(50)}
    assert len(states) == 50
    assert all(len(state) >= 32 for state in states)


@pytest.mark.parametrize(
    "text",
    [
        f"https://localhost/#access_token={ENCODED}&token_type=Bearer&expires_in=28800&state={STATE}",
        f"https://localhost#access_token={ENCODED}&token_type=Bearer&expires_in=28800&state={STATE}",
        f"#access_token={ENCODED}&token_type=Bearer&expires_in=28800&state={STATE}",
        f"access_token={ENCODED}&token_type=Bearer&expires_in=28800&state={STATE}",
        f"  <https://localhost/#access_token={ENCODED}&expires_in=28800&state={STATE}>\n",
        f'"https://localhost/#state={STATE}&expires_in=28800&access_token={ENCODED}"',
    ],
)
def test_redirect_forms(text: str) -> None:
    grant = parse(text)
    assert grant.access_token == TOKEN
    assert grant.expires_in == 28800
    assert answer_state(text.strip().strip('<>"')) == STATE


def test_scope_is_kept() -> None:
    grant = parse(f"#access_token={ENCODED}&scope=chats--all%3Aro%20agents--all%3Arw")
    assert grant.scope == "chats--all:ro agents--all:rw"


@pytest.mark.parametrize("text", [TOKEN, ENCODED, "fra-a%3Axyz_ABC-123456", "dal:abc+def/ghi=="])
def test_bare_tokens(text: str) -> None:
    grant = parse(text)
    assert grant.access_token == text.replace("%3A", ":")
    assert grant.expires_in is None
    assert answer_state(text) is None


def test_answer_without_state_is_accepted() -> None:
    assert parse(f"https://localhost/#access_token={ENCODED}").access_token == TOKEN


def test_state_of_another_attempt_is_refused() -> None:
    message = rejected(f"https://localhost/#access_token={ENCODED}&state=other")
    assert "belongs to another login attempt" in message


def test_malformed_expires_in_is_unknown() -> None:
    assert parse(f"#access_token={ENCODED}&expires_in=soon").expires_in is None


def test_grant_repr_hides_the_token() -> None:
    assert TOKEN not in repr(parse(TOKEN))


@pytest.mark.parametrize(
    ("details", "hint"),
    [
        ("client_id_not_found", "does not know the client id 'client-1'"),
        ("redirect_uri_not_set", "add https://localhost as a Redirect URI"),
        ("invalid_redirect_uri", "is not one the app allows. LiveChat's rule: the scheme"),
        ("too_many_redirects", "Wait 30 seconds"),
    ],
)
def test_error_pages_are_explained(details: str, hint: str) -> None:
    message = rejected(
        "https://accounts.livechat.com/ooops?oauth_exception=invalid_request"
        f"&exception_details={details}"
    )
    assert message.startswith(f"LiveChat answered with an error page (invalid_request, {details}).")
    assert hint in message


@pytest.mark.parametrize(
    ("query", "hint"),
    [
        ("oauth_exception=unauthorized_client", "JavaScript app"),
        ("oauth_exception=access_denied", "Install it"),
        ("identity_exception=unauthorized", "the user is unknown"),
        ("identity_exception=access_denied", "a banned user"),
        ("identity_exception=server_error", "could not tell who is logged in"),
        ("identity_exception=invalid_request", "exactly as printed"),
        ("oauth_exception=missing_grant", "accept the consent screen"),
        ("oauth_exception=unsupported_response_type", "only token and code exist"),
        ("oauth_exception=server_error", "failed on its side"),
        ("oauth_exception=temporarily_unavailable", "overloaded"),
        ("identity_exception=something_new", "Check the app's App Authorization block"),
        ("oauth_exception=something_new&exception_details=weird", "(something_new, weird)"),
    ],
)
def test_other_errors(query: str, hint: str) -> None:
    assert hint in rejected(f"https://accounts.livechat.com/ooops?{query}")


def test_error_in_a_fragment() -> None:
    assert "Install it" in rejected("https://localhost/#error=access_denied&state=x")


def test_an_oauth_exception_is_explained_before_an_identity_one() -> None:
    params = {"oauth_exception": "access_denied", "identity_exception": "access_denied"}
    assert "Install it" in explain_error(params, client_id="c", redirect_uri="https://localhost")


def test_re_consent_asks_for_the_consent_screen() -> None:
    from urllib.parse import parse_qs, urlsplit

    from pytest_livechat_token._auth.authorize import authorization_url

    plain = parse_qs(urlsplit(authorization_url("https://a", "c", "https://l", "s")).query)
    again = authorization_url("https://a", "c", "https://l", "s", consent=True)
    assert "prompt" not in plain
    assert parse_qs(urlsplit(again).query)["prompt"] == ["consent"]


def test_explain_error_without_names() -> None:
    assert "an error" in explain_error({}, client_id="c", redirect_uri="https://localhost")


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("", "Nothing was pasted"),
        ("   \n", "Nothing was pasted"),
        ("x" * 9000, "far too long"),
        ("https://localhost/ #access_token=x", "spaces or control characters"),
        ("dal:abc\x00def", "spaces or control characters"),
        ("https://localhost/", "has no access_token"),
        ("https://localhost/?foo=bar", "has no access_token"),
        ("https://localhost/?code=abc&state=s", "authorization code"),
        ("hello", "does not look like a LiveChat token"),
        ("dal:ab", "does not look like a LiveChat token"),
        ("dal:%%%", "does not look like a LiveChat token"),
        ("http://[::1", "not an address we can read"),
        ("#access_token=dal%3Aab", "cut short or damaged"),
        (f"#access_token={ENCODED}&token_type=mac", "a Bearer token is needed"),
    ],
)
def test_bad_input_says_what_was_expected(text: str, hint: str) -> None:
    message = rejected(text)
    assert hint in message


def test_messages_never_hold_the_token() -> None:
    for text in (
        f"https://localhost/#access_token={ENCODED}&state=other",
        f"#access_token={ENCODED}&token_type=mac",
    ):
        message = rejected(text)
        assert TOKEN not in message
        assert ENCODED not in message


def test_error_explanations_fit_both_grants_and_name_the_front_ends_flags() -> None:
    from pytest_livechat_token._auth.authorize import explain_error
    from pytest_livechat_token._base.settings import Wording

    unauthorized = explain_error(
        {"oauth_exception": "unauthorized_client"}, client_id="c", redirect_uri="https://x.test"
    )
    assert "implicit grant;" in unauthorized
    assert "code grant" in unauthorized
    for cause in ("wrong or missing client id", "https://x.test was sent", "bad client secret"):
        assert cause in unauthorized
    invalid = explain_error(
        {"oauth_exception": "invalid_request"}, client_id="c", redirect_uri="https://x.test/"
    )
    assert "trailing slash" in invalid
    assert "response type" in invalid
    assert "https://x.test/ was sent" in invalid
    cli = explain_error(
        {"exception_details": "invalid_redirect_uri"},
        client_id="c",
        redirect_uri="https://x.test",
        wording=Wording({"redirect_uri": "--redirect-uri"}),
    )
    assert "set --redirect-uri to one" in cli


def test_unicode_digits_in_a_pasted_expiry_are_no_expiry() -> None:
    grant = parse_paste(
        "https://localhost/#access_token=dal%3Aabcdefgh1234&expires_in=%C2%B2&state=s",
        expected_state="s",
    )
    assert grant.expires_in is None
    huge = parse_paste(
        "#access_token=dal:abcdefgh1234&expires_in=1000000000000", expected_state=None
    )
    assert huge.expires_in is None


def test_control_characters_of_an_error_page_are_escaped() -> None:
    params = {"oauth_exception": "\x1b]52;c;ZWNobyBoaQ==\x07", "exception_details": "\x1b[2J"}
    text = explain_error(params, client_id="c", redirect_uri="https://localhost")
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\\x1b]52;c;" in text
    assert shown("ok\n\x1b[2Jcleared\x9b\n") == "ok\n\\x1b[2Jcleared\\x9b\n"


def test_a_pasted_token_is_a_secret_from_the_moment_it_is_read() -> None:
    """Even from an answer that is then refused (another login's state), and a bare one."""
    from pytest_livechat_token._base import redact

    with pytest.raises(PasteRejected, match="another login attempt"):
        parse(f"https://localhost/#access_token={ENCODED}&state=other")
    assert redact.contains(TOKEN)
    redact.forget_all()
    parse("dal%3ABareToken0123456789")
    assert redact.contains("dal:BareToken0123456789")


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("identity_lost", "lost track of who is logged in"),
        ("credentials_login_disabled", "may not log in with an e-mail and a password"),
    ],
)
def test_identity_exceptions_about_the_users_login_have_their_own_words(
    value: str, words: str
) -> None:
    """Troubleshooting's identity_exception values are about the user's login, not the app."""
    said = explain_error(
        {"identity_exception": value}, client_id="c", redirect_uri="https://localhost"
    )
    assert words in said
    assert "App Authorization" not in said
