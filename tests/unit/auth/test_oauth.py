"""Asking the accounts server about a token, over real sockets."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from pytest_livechat_token._auth import oauth as accounts_module
from pytest_livechat_token._auth.oauth import token_info
from pytest_livechat_token._base.errors import (
    AccountsUnreachable,
    TokenRejected,
)

from ...support.accounts_server import AccountsServer
from ...support.helpers import refusing_port


def test_info_of_a_good_token(accounts: AccountsServer) -> None:
    token = accounts.issue("client-1", expires_in=1234, scope="chats--all:ro")
    info = token_info(accounts.url, token)
    assert info.client_id == "client-1"
    assert info.expires_in == 1234
    assert info.scope == "chats--all:ro"
    assert (info.account_id, info.organization_id) == ("acc-1", "org-1")
    assert accounts.requests == [("GET", "/v2/info")]


def test_refused_token(accounts: AccountsServer) -> None:
    with pytest.raises(TokenRejected, match="HTTP 401"):
        token_info(accounts.url, "dal:not-a-token-we-issued")


def test_unreachable_server() -> None:
    with (
        refusing_port() as port,
        pytest.raises(
            AccountsUnreachable, match=r"could not reach .*/v2/info \(ConnectionRefusedError\)"
        ),
    ):
        token_info(f"http://127.0.0.1:{port}", "dal:any-token-value")


@pytest.fixture
def odd_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """A server that answers with the status and body the test asks for."""
    status, body = request.param

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("odd_server", "message"),
    [
        ((500, b"{}"), "answered HTTP 500"),
        ((200, b"<html>"), "did not answer with a JSON object"),
        ((200, b"[1]"), "did not answer with a JSON object"),
    ],
    indirect=["odd_server"],
)
def test_odd_answers_count_as_unreachable(odd_server: str, message: str) -> None:
    with pytest.raises(AccountsUnreachable, match=message):
        token_info(odd_server, "dal:any-token-value")


@pytest.mark.parametrize(
    "odd_server", [(200, b'{"expires_in": "soon", "scope": 5}')], indirect=True
)
def test_odd_fields_are_unknown(odd_server: str) -> None:
    info = token_info(odd_server, "dal:any-token-value")
    assert (info.expires_in, info.scope, info.client_id) == (None, None, None)


def test_the_test_server_revokes_as_documented(accounts: AccountsServer) -> None:
    """DELETE /v2/token: 200 {} for a known token, 404 for an unknown one; revoking an access
    token takes its refresh token along; a refresh token can be revoked by itself."""

    def delete(token: str) -> httpx.Response:
        return httpx.delete(
            f"{accounts.url}/v2/token", headers={"Authorization": f"Bearer {token}"}
        )

    first, second = accounts.pair(), accounts.pair()
    assert not str(first["refresh_token"]).startswith(("dal:", "fra:"))
    gone = delete(str(first["access_token"]))
    assert (gone.status_code, gone.json()) == (200, {})
    assert first["refresh_token"] not in accounts.refresh_tokens
    assert delete(str(first["access_token"])).status_code == 404
    assert delete(str(second["refresh_token"])).status_code == 200
    assert not accounts.tokens[str(second["access_token"])].revoked
    unknown = delete("dal:never-issued-token")
    assert unknown.status_code == 404
    assert set(unknown.json()) == {"error", "error_description"}


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b'{"error": "invalid_grant", "error_description": "x"}', "invalid_grant"),
        (b'{"oauth_exception": "invalid_grant", "exception_description": "x"}', "invalid_grant"),
        (b'{"error": "\\u001b[2Jbad name"}', None),
        (b"<html>not json</html>", None),
    ],
)
def test_a_refusal_is_named_only_by_a_plain_error_name(
    accounts: AccountsServer, body: bytes, named: str | None
) -> None:
    from pytest_livechat_token._auth.oauth import refresh_grant
    from pytest_livechat_token._base.errors import GrantRefused

    accounts.fixed[("POST", "/v2/token")] = (401, body, {})
    with pytest.raises(GrantRefused) as refused:
        refresh_grant(accounts.url, "client-1", "refresh-token-1234")
    message = str(refused.value)
    assert message == (f"the accounts server refused it (HTTP 401{': ' + named if named else ''})")


# -- the test server itself: it must hold to the contract the plugin's tests rely on --


def test_old_refresh_token_is_refused_after_rotation(accounts: AccountsServer) -> None:
    pair = accounts.pair()
    form = {
        "grant_type": "refresh_token",
        "refresh_token": pair["refresh_token"],
        "client_id": "client-1",
    }
    assert httpx.post(f"{accounts.url}/v2/token", data=form).status_code == 200
    refused = httpx.post(f"{accounts.url}/v2/token", data=form)
    assert refused.status_code == 401
    assert refused.json() == {
        "error": "invalid_grant",
        "error_description": "Invalid or expired grant",
    }


def test_plain_pkce_is_checked_by_the_test_server(accounts: AccountsServer) -> None:
    location = httpx.get(
        f"{accounts.url}/?response_type=code&client_id=c&redirect_uri=https://localhost&state=s"
        "&code_challenge=plain-verifier-value&code_challenge_method=plain",
        follow_redirects=False,
    ).headers["Location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": "c",
        "redirect_uri": "https://localhost",
        "code_verifier": "wrong",
    }
    assert httpx.post(f"{accounts.url}/v2/token", data=form).status_code == 401
    accounts.codes[code].used = False
    form["code_verifier"] = "plain-verifier-value"
    assert httpx.post(f"{accounts.url}/v2/token", data=form).status_code == 200


def info_answer(**fields: object) -> tuple[int, bytes, dict[str, str]]:
    body = {"client_id": "client-1", "scope": "chats--all:ro", "expires_in": 28800, **fields}
    return 200, json.dumps(body).encode(), {}


def test_an_absurd_lifetime_from_info_counts_as_unknown(accounts: AccountsServer) -> None:
    accounts.fixed[("GET", "/v2/info")] = info_answer(expires_in=10**12)
    assert token_info(accounts.url, "dal:abcdefgh1234").expires_in is None


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000, b'{"a":' * 50_000, b'{"client_id": "' + b"x" * 70_000 + b'"}', b"\xff\xfe"],
    ids=["nested-list", "nested-object", "too-large", "not-utf8"],
)
def test_a_hostile_info_answer_is_one_line(accounts: AccountsServer, body: bytes) -> None:
    accounts.fixed[("GET", "/v2/info")] = (200, body, {})
    with pytest.raises(AccountsUnreachable) as raised:
        token_info(accounts.url, "dal:abcdefgh1234")
    assert "\n" not in str(raised.value)
    assert raised.value.__cause__ is None


def test_a_trickling_server_meets_one_deadline(
    accounts: AccountsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every byte comes within httpx's read timeout; the whole answer never within the deadline.
    monkeypatch.setattr(accounts_module, "TIMEOUT", 1.0)
    accounts.trickle[("GET", "/v2/info")] = 0.25
    accounts.fixed[("GET", "/v2/info")] = info_answer(padding="x" * 40)
    with pytest.raises(AccountsUnreachable, match="gave no whole answer within 1 s"):
        token_info(accounts.url, "dal:abcdefgh1234")


@pytest.mark.parametrize("status", [400, 404, 422, 410])
def test_any_refusal_of_info_but_429_is_a_refused_token(
    accounts: AccountsServer, status: int
) -> None:
    """``GET /v2/info`` answering a 4xx other than 429 (the Global Accounts API documents 422)
    refuses the token: a bad paste is never kept as it is."""
    accounts.fixed[("GET", "/v2/info")] = (status, b'{"error": "invalid_request"}', {})
    with pytest.raises(TokenRejected, match=f"HTTP {status}"):
        token_info(accounts.url, accounts.issue())


def test_the_test_server_answers_info_without_a_bearer_with_its_422(
    accounts: AccountsServer,
) -> None:
    answer = httpx.get(f"{accounts.url}/v2/info", headers={"Authorization": "Basic eA=="})
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_request"


def test_the_test_server_refuses_an_unsupported_grant_type_with_403(
    accounts: AccountsServer,
) -> None:
    answer = httpx.post(f"{accounts.url}/v2/token", data={"grant_type": "password"})
    assert (answer.status_code, answer.json()["error"]) == (403, "unsupported_grant_type")


# Authorization > OAuth 2.1 > "Redirect URIs": the docs' table, row by row.
DOCS_REDIRECT_TABLE = [
    ("http://livechat.com", "http://livechat.com", True),
    ("http://livechat.com", "http://livechat.com/archives", True),
    ("http://livechat.com", "http://livechat.com/archives/../", False),
    ("http://livechat.com/archives", "http://livechat.com", False),
    ("http://livechat.com/archives", "http://livechat.com/archives", True),
    ("http://livechat.com/archives", "http://livechat.com/archives/chats", True),
    ("http://localhost:3000", "http://localhost:3000", True),
    ("http://127.0.0.1:3000", "http://127.0.0.1:3000", True),
    ("http://localhost:3000", "http://localhost:4000", False),
    ("https://livechat.com", "http://livechat.com", False),
    ("http://livechat.com", "https://livechat.com", False),
    ("http://livechat.com", "http://livechat.com/?size=20", False),
    ("http://livechat.com", "http://livechat.com/#paragraph", False),
    ("https://localhost/", "https://localhost", False),  # Troubleshooting: the trailing slash
]


@pytest.mark.parametrize(("registered", "requested", "valid"), DOCS_REDIRECT_TABLE)
def test_the_test_server_applies_the_redirect_uri_rules(
    accounts: AccountsServer, registered: str, requested: str, valid: bool
) -> None:
    accounts.redirect_uris["c"] = [registered]
    location = httpx.get(
        f"{accounts.url}/",
        params={"response_type": "token", "client_id": "c", "redirect_uri": requested},
    ).headers["Location"]
    if valid:
        assert location.startswith(requested + "#access_token=")
    else:
        assert location == (
            f"{accounts.url}/ooops?oauth_exception=unauthorized_client"
            "&exception_details=invalid_redirect_uri"
        )


def test_the_test_server_names_a_missing_redirect_uri_and_response_type(
    accounts: AccountsServer,
) -> None:
    accounts.redirect_uris["c"] = []
    query = {"response_type": "token", "client_id": "c", "redirect_uri": "https://localhost"}
    location = httpx.get(f"{accounts.url}/", params=query).headers["Location"]
    assert location.endswith("exception_details=redirect_uri_not_set")
    del accounts.redirect_uris["c"]
    answer = httpx.get(f"{accounts.url}/", params=query | {"response_type": "id_token"})
    assert answer.headers["Location"].endswith("oauth_exception=unsupported_response_type")


def test_a_busy_info_is_not_a_refused_token(accounts: AccountsServer) -> None:
    accounts.fixed[("GET", "/v2/info")] = (429, b"{}", {"Retry-After": "3"})
    with pytest.raises(AccountsUnreachable, match="HTTP 429"):
        token_info(accounts.url, accounts.issue())


def test_what_the_token_endpoint_answers_is_a_secret_at_once(accounts: AccountsServer) -> None:
    """Remembered as it is read, before anything else is checked: here the answer is then
    refused as damaged (a refresh token of the wrong shape), and the access token it carried
    is masked all the same."""
    from pytest_livechat_token._auth.oauth import refresh_grant
    from pytest_livechat_token._base import redact

    body = json.dumps({"access_token": "dal:AnsweredSecret0123456789", "refresh_token": "x y"})
    accounts.fixed[("POST", "/v2/token")] = (200, body.encode(), {})
    with pytest.raises(AccountsUnreachable, match="damaged refresh_token"):
        refresh_grant(accounts.url, "client-1", "refresh-whatever-0123456789")
    assert redact.contains("dal:AnsweredSecret0123456789")
