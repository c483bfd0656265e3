"""Renewing a token with its refresh token: the step itself, apart from when it is taken
(``obtain.TokenSource`` decides that, under the login lock)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from .._auth.oauth import TIMEOUT, refresh_grant
from .._base.errors import AccountsUnreachable
from .._store.cache import CacheEntry

MAX_WAIT = 15.0
"""The longest ``Retry-After`` a renewal waits out (once) before it gives up for now."""
DEADLINE = 2 * TIMEOUT + MAX_WAIT + 5
"""The longest a renewal takes: two calls and the wait between them."""


def renew(
    accounts_url: str,
    client_id: str,
    entry: CacheEntry,
    *,
    now: Callable[[], datetime],
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[float], None] = lambda seconds: None,
    client_secret: str | None = None,
) -> CacheEntry:
    """Trade ``entry``'s refresh token for a new pair, and return the entry to store.

    The new expiry counts from the moment the request was sent, not from the answer. Raises
    ``GrantRefused`` when the refresh token is no good (drop it), ``AccountsUnreachable``
    when the server cannot be asked, is busy or rate-limits (keep the pair): a 429 or 5xx that
    asks for a wait of at most ``MAX_WAIT`` seconds is waited out, once, after ``on_retry``.
    """
    assert entry.refresh_token is not None
    for attempt in (1, 2):
        requested_at = now()
        try:
            response = refresh_grant(accounts_url, client_id, entry.refresh_token, client_secret)
        except AccountsUnreachable as busy:
            wait = busy.retry_after
            if attempt == 1 and wait is not None and wait <= MAX_WAIT:
                on_retry(wait)
                sleep(wait)
                continue
            raise
        return CacheEntry(
            response.access_token,
            response.expires_at(requested_at),
            requested_at,
            scope=response.scope or entry.scope,
            # RFC 6749 section 6: an answer without a new refresh token leaves the old one
            # good (a server-side app's do not rotate): keep it.
            refresh_token=response.refresh_token or entry.refresh_token,
            account_id=response.account_id or entry.account_id,
            organization_id=response.organization_id or entry.organization_id,
        )
    raise AssertionError("unreachable")  # pragma: no cover
