"""Whatever is pasted, and whatever the cache file holds: a token or a clear, defined error.

The default run tries a few hundred examples; the bench run (tox -e bench) sets
LIVECHAT_FUZZ_EXAMPLES=10000.
"""

from __future__ import annotations

import json
import os
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_livechat_token._auth.authorize import answer_state, explain_error, parse_paste
from pytest_livechat_token._base.bearer import is_token_shaped
from pytest_livechat_token._base.errors import PasteRejected
from pytest_livechat_token._store.cache import (
    FORMAT_VERSION,
    CacheEntry,
    CacheUnusable,
    CacheWarning,
    TokenCache,
)

EXAMPLES = int(os.environ.get("LIVECHAT_FUZZ_EXAMPLES", "300"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
STATE = "the-state"

any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=300)
token_chars = st.text(st.sampled_from("abcXYZ019-_.~+/=:%"), min_size=0, max_size=60)
param_names = st.sampled_from(
    [
        "access_token",
        "token_type",
        "expires_in",
        "state",
        "scope",
        "oauth_exception",
        "exception_details",
        "identity_exception",
        "error",
        "code",
        "x",
    ]
)
param_values = st.one_of(
    token_chars, st.just(STATE), st.just("Bearer"), st.integers(-5, 10**12).map(str), any_text
)
params = st.lists(st.tuples(param_names, param_values), max_size=6).map(
    lambda pairs: "&".join(
        f"{quote(k)}={quote(v, safe='', errors='surrogatepass')}" for k, v in pairs
    )
)
prefixes = st.sampled_from(
    [
        "https://localhost/#",
        "https://localhost#",
        "#",
        "",
        "https://accounts.livechat.com/ooops?",
        "http://127.0.0.1:8765/cb?",
        "  <",
        "'",
        "https://[::1]:80/#",
        "http://[bad/#",
    ]
)
pastes = st.one_of(
    any_text,
    st.builds(lambda p, q: p + q, prefixes, params),
    token_chars,
    st.builds(lambda t: "dal%3A" + t, token_chars),
    st.text(min_size=8000, max_size=9000, alphabet="a:%3A"),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
)


@FUZZ
@given(pastes, st.booleans())
def test_any_paste_is_a_token_or_a_clear_rejection(text: str, require_state: bool) -> None:
    try:
        grant = parse_paste(
            text,
            expected_state=STATE,
            client_id="client-1",
            redirect_uri="https://localhost",
            require_state=require_state,
        )
    except PasteRejected as rejected:
        message = str(rejected)
        assert message
        assert message[0].isupper()
        assert message.endswith((".", ")")) or "Try again" in message
        return
    assert is_token_shaped(grant.access_token)
    assert answer_state(text) in (None, STATE)
    assert grant.expires_in is None or grant.expires_in >= 0
    if require_state:
        assert answer_state(text) == STATE


@FUZZ
@given(st.dictionaries(param_names, any_text, max_size=4))
def test_any_error_page_gets_an_explanation(error_params: dict[str, str]) -> None:
    assert explain_error(error_params, client_id="c", redirect_uri="https://localhost").startswith(
        "LiveChat answered with an error page"
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
good_entry = {
    "access_token": "dal:some-token-value",
    "token_type": "Bearer",
    "expires_at": "2026-11-29T20:00:00+00:00",
    "obtained_at": "2026-11-29T12:00:00+00:00",
    "scope": "a:ro",
}
entry_like = st.fixed_dictionaries(
    {}, optional={key: st.one_of(st.just(value), json_values) for key, value in good_entry.items()}
)
documents = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"version": st.one_of(st.just(1), st.just(2), st.just(3), json_values)},
        optional={
            "entries": st.one_of(
                json_values,
                st.dictionaries(
                    st.text(max_size=10),
                    st.dictionaries(st.text(max_size=5), entry_like, max_size=3),
                    max_size=3,
                ),
            )
        },
    ),
)
contents = st.one_of(
    documents.map(lambda doc: json.dumps(doc).encode()),
    documents.map(lambda doc: json.dumps(doc).encode()).flatmap(
        lambda data: st.integers(0, len(data)).map(lambda cut: data[:cut])
    ),
    st.binary(max_size=300),
)


@FUZZ
@given(contents)
def test_any_cache_file_is_entries_or_a_warning(tmp_path_factory: object, content: bytes) -> None:
    base: Path = tmp_path_factory.mktemp("cache")  # type: ignore[attr-defined]
    cache = TokenCache(base / "tokens.json", lock_timeout=5)
    cache.path.write_bytes(content)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for (url, client, account), entry in cache.entries().items():
            assert isinstance(url, str)
            assert isinstance(client, str)
            assert isinstance(account, str)
            assert entry.expires_at.tzinfo is not None
        found = cache.get("u", "c")
        now = datetime(2026, 11, 29, tzinfo=timezone.utc)
        new = CacheEntry("dal:new-token-value", now + timedelta(hours=1), now)
        if _newer(content):  # a newer plugin's file: never overwritten
            with pytest.raises(CacheUnusable):
                cache.put("u", "new", new)
        else:
            cache.put("u", "new", new)
    assert all(issubclass(w.category, CacheWarning) for w in caught)
    assert found is None or found.access_token
    if _newer(content):
        assert cache.path.read_bytes() == content
    else:
        assert cache.get("u", "new") is not None
        assert json.loads(cache.path.read_text())["version"] == FORMAT_VERSION


def _newer(content: bytes) -> bool:
    try:
        document = json.loads(content)
    except (ValueError, RecursionError):
        return False
    version = document.get("version") if isinstance(document, dict) else None
    return isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION
