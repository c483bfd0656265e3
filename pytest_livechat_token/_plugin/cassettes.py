"""VCR cassettes (pytest-recording and vcrpy), which people commit: the plugin's own traffic to
the accounts server is never recorded and never answered from a cassette, and every known
secret is masked in what a cassette stores, whatever the suite's own filters are.

Loaded only once vcrpy is: by pytest-recording's ``pytest_recording_configure`` hook, and when
vcrpy's persister module is imported (``masking`` watches for it), so that a run without vcrpy
never imports it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from .._base import redact

_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_BODY = 64 * 1024 * 1024
"""The most a compressed body is decompressed to, to be looked into."""


def configure(vcr: Any, accounts_url: str, identities: Mapping[str, str]) -> None:
    """Set up pytest-recording's ``VCR`` for one cassette: its persister masks what it saves,
    and every cassette it makes lets the plugin's own requests (``accounts_url``'s ``/v2/``
    endpoints) through, unrecorded."""
    vcr.register_persister(MaskingPersister(vcr.persister, identities))
    merged = vcr.get_merged_config
    ours = _address(accounts_url.rstrip("/") + "/v2/")

    def config(**kwargs: Any) -> dict[str, Any]:
        options: dict[str, Any] = merged(**kwargs)
        before = options.get("before_record_request")

        def not_ours(request: Any) -> Any:
            address = _address(request.uri)
            if address[:3] == ours[:3] and address[3].startswith(ours[3]):
                return None  # ignored: passed through, never recorded, never played back
            return before(request) if callable(before) else request

        options["before_record_request"] = not_ours
        return options

    setattr(vcr, "get_merged_config", config)  # noqa: B010 - on this one VCR


class MaskingPersister:
    """Saves through ``inner`` (vcrpy's or pytest-recording's persister) a copy of the cassette
    with every known secret masked, and every identity of a token handed out in this run
    (``identities``: account, organization and customer ids) replaced by its stand-in, in
    URLs, headers and bodies of requests and responses: a replay with stand-ins matches."""

    def __init__(self, inner: Any, identities: Mapping[str, str]) -> None:
        self._inner = inner
        self._identities = identities

    def load_cassette(self, cassette_path: Any, serializer: Any) -> Any:
        return self._inner.load_cassette(cassette_path, serializer)

    def save_cassette(
        self, cassette_path: Any, cassette_dict: dict[str, Any], serializer: Any
    ) -> None:
        cassette = masked_cassette(cassette_dict, self._identities)
        self._inner.save_cassette(cassette_path, cassette, serializer)


def masked_cassette(cassette: dict[str, Any], identities: Mapping[str, str]) -> dict[str, Any]:
    """A copy of vcrpy's cassette ``cassette`` with every known secret masked and every
    identity in ``identities`` replaced by its stand-in; ``cassette`` itself when there is
    nothing to mask."""
    if not redact.known() and not identities:
        return cassette
    masked = partial(_masked, swap=_swapper(identities))
    requests, responses = cassette["requests"], cassette["responses"]
    return {
        **cassette,
        "requests": [_request(request, masked) for request in requests],
        "responses": [_response(response, masked) for response in responses],
    }


def mask_filesystem_persister(module: Any) -> None:
    """vcrpy's own persister (``vcr.persisters.filesystem.FilesystemPersister``: what every
    ``VCR`` saves with unless told otherwise, and what pytest-recording's extends) masks every
    known secret in what it saves, whoever made the ``VCR``: vcrpy's documented persister
    interface, ``save_cassette(cassette_path, cassette_dict, serializer)``, wrapped once."""
    persister = module.FilesystemPersister
    raw = vars(persister).get("save_cassette")
    inner = getattr(raw, "__func__", None)
    if not callable(inner) or getattr(inner, "livechat_masked", False):
        return
    if isinstance(raw, staticmethod):  # as vcrpy has it

        def save_static(cassette_path: Any, cassette_dict: dict[str, Any], serializer: Any) -> None:
            inner(cassette_path, masked_cassette(cassette_dict, {}), serializer)

        save_static.livechat_masked = True  # type: ignore[attr-defined]
        persister.save_cassette = staticmethod(save_static)
    elif isinstance(raw, classmethod):

        def save_bound(
            cls: Any, cassette_path: Any, cassette_dict: dict[str, Any], serializer: Any
        ) -> None:
            inner(cls, cassette_path, masked_cassette(cassette_dict, {}), serializer)

        save_bound.livechat_masked = True  # type: ignore[attr-defined]
        persister.save_cassette = classmethod(save_bound)


def _request(request: Any, masked: Callable[[Any], Any]) -> Any:
    from vcr.request import Request  # vcrpy is there: it called us

    headers = {name: masked(value) for name, value in request.headers.items()}
    return Request(request.method, masked(request.uri), masked(request.body), headers)


def _response(response: Any, masked: Callable[[Any], Any]) -> Any:
    """``response`` masked, its ``Content-Length`` the length of the body it now has. A gzip
    or deflate body is looked into: when a secret or an identity is in it, it is stored
    decompressed and masked (``Content-Encoding`` dropped, as vcrpy's
    ``decode_compressed_response`` stores it, and as it replays); else as it came."""
    plain = _decompressed(response)
    shown = masked(plain) if plain is not None else None
    if shown is None or shown == plain:
        shown = masked(response)
    if _body(shown) != _body(response):
        _set_length(shown)
    return shown


def _body(response: Any) -> Any:
    body = response.get("body") if isinstance(response, dict) else None
    return body.get("string") if isinstance(body, dict) else None


def _set_length(response: dict[str, Any]) -> None:
    """``Content-Length`` set, where the response has one, to its body's length in bytes."""
    body = _body(response)
    headers = response.get("headers")
    if isinstance(body, str):
        body = body.encode("utf-8")
    if not isinstance(body, bytes) or not isinstance(headers, dict):
        return
    for name in headers:
        if str(name).lower() == "content-length":
            headers[name] = [str(len(body))]


def _decompressed(response: Any) -> dict[str, Any] | None:
    """A copy of a vcrpy response with its gzip or deflate body decompressed (at most
    ``_MAX_BODY`` bytes), or None: not compressed so, or not decompressible."""
    import zlib

    headers = response.get("headers") if isinstance(response, dict) else None
    body = response.get("body") if isinstance(response, dict) else None
    if not isinstance(headers, dict) or not isinstance(body, dict):
        return None
    names = {str(name).lower(): name for name in headers}
    encoding = headers.get(names.get("content-encoding", ""))
    values = [encoding] if isinstance(encoding, str) else encoding
    data = body.get("string")
    if not isinstance(values, list) or len(values) != 1 or not isinstance(data, bytes):
        return None
    kind = str(values[0]).strip().lower()
    tries = {"gzip": (31,), "x-gzip": (31,), "deflate": (15, -15)}.get(kind, ())
    for wbits in tries:
        inflater = zlib.decompressobj(wbits)
        try:
            plain = inflater.decompress(data, _MAX_BODY)
        except zlib.error:
            continue
        if inflater.unconsumed_tail:
            return None  # past the bound: left as it came
        kept = {name: value for name, value in headers.items() if name != names["content-encoding"]}
        return {**response, "headers": kept, "body": {**body, "string": plain}}
    return None


def _swapper(identities: Mapping[str, str]) -> Callable[[str], str]:
    """Replaces each identity, as a whole word, by its stand-in."""
    if not identities:
        return lambda text: text
    words = "|".join(re.escape(real) for real in sorted(identities, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w-])(?:{words})(?![\w-])")
    return lambda text: pattern.sub(lambda match: identities[match.group()], text)


def _masked(value: Any, *, swap: Callable[[str], str]) -> Any:
    """``value`` with every known secret masked and identities swapped: strings, UTF-8 bytes,
    and what lists, tuples and dicts hold (a new copy; the cassette in memory stays)."""
    if isinstance(value, str):
        return swap(redact.scrub(value))
    if isinstance(value, bytes):
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            return value  # not text (an image): nothing of ours is in it
        return swap(redact.scrub(text)).encode("utf-8")
    if isinstance(value, dict):
        return {_masked(key, swap=swap): _masked(item, swap=swap) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_masked(item, swap=swap) for item in value)
    return value


def _address(url: str) -> tuple[str, str, int | None, str]:
    """Scheme, host, port and path of ``url``: the plugin's own calls are those to the accounts
    server's ``/v2/`` endpoints (``oauth``), whatever else shares the host."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port, parts.path
