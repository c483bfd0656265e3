"""``cassettes.MaskingPersister``: what a cassette stores, compressed bodies included."""

from __future__ import annotations

import gzip
import zlib
from typing import Any

import pytest

from pytest_livechat_token._base import redact
from pytest_livechat_token._plugin.cassettes import MaskingPersister

pytest.importorskip("vcr")

SECRET = "dal:secret-token-of-the-test-1234567890"


class Shelf:
    """The persister under ours: keeps what it is given to save."""

    def __init__(self) -> None:
        self.saved: dict[str, Any] = {}

    def load_cassette(self, cassette_path: Any, serializer: Any) -> Any:
        return self.saved

    def save_cassette(self, cassette_path: Any, cassette_dict: Any, serializer: Any) -> None:
        self.saved = cassette_dict


def stored(body: bytes, encoding: str | None, identities: dict[str, str] | None = None) -> Any:
    """The response as the masking persister hands it on, for an answer ``body`` sent with
    ``Content-Encoding: encoding``."""
    from vcr.request import Request

    redact.remember(SECRET)
    headers = {"Content-Type": ["application/json"], "Content-Length": [str(len(body))]}
    if encoding is not None:
        headers["Content-Encoding"] = [encoding]
    response = {"status": {"code": 200, "message": "OK"}, "headers": headers}
    response["body"] = {"string": body}
    shelf = Shelf()
    persister = MaskingPersister(shelf, identities or {})
    request = Request("POST", "https://api.example/v3.6/agent/action/x", b"{}", {})
    persister.save_cassette("c.yaml", {"requests": [request], "responses": [response]}, None)
    return shelf.saved["responses"][0]


ANSWER = f'{{"token": "{SECRET}", "organization_id": "org-1"}}'.encode()


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-15)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("encoding", "pack"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", raw_deflate),
    ],
    ids=["gzip", "x-gzip", "deflate", "raw-deflate"],
)
def test_a_compressed_body_with_a_secret_is_stored_decompressed_and_masked(
    encoding: str, pack: Any
) -> None:
    response = stored(pack(ANSWER), encoding, {"org-1": "standin-organization"})
    body = response["body"]["string"]
    assert SECRET not in body.decode()
    assert b'"organization_id": "standin-organization"' in body
    assert "Content-Encoding" not in response["headers"]
    assert response["headers"]["Content-Length"] == [str(len(body))]


def test_a_compressed_body_without_a_secret_is_stored_as_it_came() -> None:
    packed = gzip.compress(b'{"chats_summary": []}')
    response = stored(packed, "gzip")
    assert response["body"]["string"] == packed
    assert response["headers"]["Content-Encoding"] == ["gzip"]


@pytest.mark.parametrize(
    ("body", "encoding"),
    [(b"\x1f\x8bnot gzip at all", "gzip"), (gzip.compress(ANSWER), "gzip, br")],
    ids=["corrupt", "two encodings"],
)
def test_a_body_that_cannot_be_decompressed_is_left_as_it_came(body: bytes, encoding: str) -> None:
    response = stored(body, encoding)
    assert response["body"]["string"] == body


def test_a_plain_body_is_masked_in_place() -> None:
    response = stored(ANSWER, None)
    body = response["body"]["string"]
    assert SECRET not in body.decode()
    assert response["headers"]["Content-Length"] == [str(len(body))]
    assert len(body) != len(ANSWER), "the masked body has a length of its own"
