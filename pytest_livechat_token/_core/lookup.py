"""The order a token is looked for, written once: ``find`` returns what it found and where
(as gh's ``ActiveToken`` does), without asking anybody, and ``describe`` words it. The fixture
(``TokenSource.cached``), the report header and ``livechat-token status`` and ``login`` all
read the same answer.

1. ``LIVECHAT_BEARER_TOKEN_<NAME>`` (and for the default account ``LIVECHAT_BEARER_TOKEN``);
2. (no client id: nothing more can be found);
3. the xdist controller's hand-off;
4. a token this process obtained already (one login or renewal a process);
5. the cache, when ``Run.fresh``; a stale entry with a refresh token is for a renewal;
6. ``LIVECHAT_REFRESH_TOKEN`` (``_<NAME>``): a renewal from it (a server-side app's, in CI).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from .._base.bearer import BearerToken, describe_duration, seconds_left, still_valid
from .._base.environment import env_token

if TYPE_CHECKING:
    from .._store.cache import CacheEntry, Key
    from .run import Run

Where = Literal[
    "environment",
    "unconfigured",
    "controller",
    "process",
    "cache",
    "renewal",
    "refresh-env",
    "login",
]


class Found:
    """Where an account's token comes from now. ``token`` is set when it can be used as it is
    (not yet remembered as a secret: the header does not need it); ``entry`` is the cache's
    entry when one was read. (A plain class: made at every run's header.)"""

    __slots__ = ("entry", "token", "where")

    def __init__(
        self, where: Where, token: BearerToken | None = None, entry: CacheEntry | None = None
    ) -> None:
        self.where = where
        self.token = token
        self.entry = entry

    def __repr__(self) -> str:
        return f"Found({self.where!r}, {self.token!r})"

    @property
    def expires_at(self) -> datetime | None:
        if self.token is not None:
            return self.token.expires_at
        return self.entry.expires_at if self.entry is not None else None

    @property
    def renews(self) -> bool:
        """Whether a refresh token is cached (the token is renewed silently)."""
        return self.entry is not None and self.entry.refresh_token is not None

    @property
    def lifetime(self) -> float | None:
        """How long the server made the cached token live, in seconds."""
        if self.entry is None:
            return None
        return (self.entry.expires_at - self.entry.obtained_at).total_seconds()


def find(  # noqa: PLR0911 - the lookup order: one return a step
    run: Run, account: str, entries: Mapping[Key, CacheEntry] | None = None
) -> Found:
    """Where ``account``'s token would come from now. ``entries``: the cache's, when the caller
    has read them already (one read for all accounts). Raises ``ConfigError`` for a malformed
    environment token."""
    default = account == run.settings.account
    if (value := env_token(run.environ, account, default=default)) is not None:
        return Found("environment", BearerToken(value, account=account))
    client_id = run.settings.client_id
    if client_id is None:
        return Found("unconfigured")
    if run.handed is not None:
        from .handed import bearer_of  # only workers are handed anything

        if (handed := bearer_of(run.handed, account, run.now())) is not None:
            return Found("controller", handed)
    obtained = run.obtained.get(account)
    if obtained is not None and still_valid(obtained.expires_at, run.now()):
        return Found("process", obtained)
    key = (run.settings.accounts_url, client_id, account)
    entry = (run.cache.entries() if entries is None else entries).get(key)
    if entry is None:
        return _from_env_refresh(run, account, None)
    if run.fresh(entry):
        return Found("cache", entry.bearer(account), entry)
    if entry.refresh_token:
        return Found("renewal", entry=entry)
    return _from_env_refresh(run, account, entry)


def _from_env_refresh(run: Run, account: str, entry: CacheEntry | None) -> Found:
    return Found("refresh-env" if run.env_refresh_token(account) else "login", entry=entry)


def describe(found: Found, now: datetime, *, token_env: str, refresh_env: str, missing: str) -> str:
    """``found`` in a few words, for the report header and ``livechat-token status``;
    ``missing`` says what happens when there is no token (each front end has its own words)."""
    if found.where == "environment":
        return f"the token in {token_env} is used"
    if found.where == "refresh-env":
        return f"no fresh token cached: it is renewed from {refresh_env} when next needed"
    if found.where in ("controller", "process", "cache") and found.expires_at is not None:
        left = describe_duration(seconds_left(found.expires_at, now))
        return f"token cached, {left} left" + (", then renewed silently" if found.renews else "")
    if found.where == "renewal":
        return "cached token expiring: it will be renewed silently when next needed"
    return missing
