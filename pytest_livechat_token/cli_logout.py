"""``livechat-token logout``: revoke at LiveChat what is cached, and remove it from the cache,
for an account, every account (``--all``) or one customer (``--customer``); the customers an
account made go with it. What the cache held is removed even when LiveChat could not be told
(exit code 3 says so): a logout never leaves a token behind for a later run to use."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from functools import partial
from typing import TextIO

from .cache import CacheEntry
from .cli import FAILED, NOT_REVOKED, OK
from .errors import AccountsUnreachable, LiveChatTokenError, TokenRejected, printable, reason
from .obtain import TokenSource
from .run import Run
from .settings import account_name, for_account


def logout(source: TokenSource, arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    run = source.run
    if arguments.customer is not None:
        return _drop_customer(run, account_name(arguments.customer, "--customer"), err)
    accounts_url, client_id = run.settings.accounts_url, run.client_id
    entries = run.cache.entries()
    names = run.accounts(entries) if arguments.all else [source.account]
    found = [(name, entries.get((accounts_url, client_id, name))) for name in names]
    if not any(entry for _, entry in found):
        whose = "" if arguments.all else for_account(source.account)
        print(
            f"livechat-token: no token cached{whose} for client {printable(client_id)} at "
            f"{accounts_url}.",
            file=err,
        )
        return FAILED
    code = OK
    for name, entry in found:
        if entry is not None:
            code = max(code, _logout_one(run, name, err))
    # The customers an account made go with it (every customer of the client with --all).
    for customer in _customers_of(run, None if arguments.all else names):
        code = max(code, _drop_customer(run, customer, err, quiet_if_none=True))
    return code


def _drop_customer(run: Run, name: str, err: TextIO, *, quiet_if_none: bool = False) -> int:
    """Revoke a cached customer's token at LiveChat and remove it from the cache."""
    accounts_url, client_id = run.settings.accounts_url, run.client_id
    entry = run.cache.get_customer(accounts_url, client_id, name)
    if entry is None:
        if quiet_if_none:
            return OK
        print(
            f"livechat-token: no customer {name!r} cached for client {printable(client_id)} at "
            f"{accounts_url}.",
            file=err,
        )
        return FAILED
    said, code = _revoke(accounts_url, "customer token", entry.access_token, customer=True)
    remove = partial(run.cache.remove_customer, accounts_url, client_id, name)
    if not _removed(run, remove, f"the customer {name!r}", said, err):
        return FAILED
    print(
        f"Removed the customer {name!r} (customer {printable(entry.entity_id, 64)}) from the "
        f"cache: the next use makes a new customer; {said}.",
        file=err,
    )
    return code


def _customers_of(run: Run, agents: Sequence[str] | None) -> list[str]:
    """The client's cached customers made by one of ``agents`` (None: by anyone)."""
    accounts_url, client_id = run.settings.accounts_url, run.client_id
    return [
        name
        for (url, client, name), entry in run.cache.customers().items()
        if (url, client) == (accounts_url, client_id) and (agents is None or entry.agent in agents)
    ]


def _logout_one(run: Run, name: str, err: TextIO) -> int:
    """Revoke and remove one account's pair under its login lock: a renewal in another process
    finishes first, and what it stored is what is revoked (never a pair it already rotated)."""
    timeout = run.settings.prompt_timeout

    def on_wait() -> None:
        run.notices.say(
            f"Waiting for the LiveChat login or renewal{for_account(name)} in another process "
            f"(up to {timeout:.0f} s)…"
        )

    with run.locks.login(timeout, on_wait, name):
        accounts_url, client_id = run.settings.accounts_url, run.client_id
        entry = run.cache.get(accounts_url, client_id, name)
        if entry is None:
            print(f"Logged out{for_account(name)} already (by another process).", file=err)
            return OK
        return _revoke_and_remove(run, name, entry, err)


def _revoke_and_remove(run: Run, name: str, entry: CacheEntry, err: TextIO) -> int:
    accounts_url, client_id = run.settings.accounts_url, run.client_id
    outcomes = [_revoke(accounts_url, "access token", entry.access_token)]
    if entry.refresh_token is not None:
        # Revoking an access token revokes its refresh token too, but when the access token
        # is already gone that says nothing of the refresh token: revoke it by itself.
        outcomes.append(_revoke(accounts_url, "refresh token", entry.refresh_token))
    said = "; ".join(text for text, _ in outcomes)
    remove = partial(run.cache.remove, accounts_url, client_id, name)
    if not _removed(run, remove, f"the token{for_account(name)}", said, err):
        return FAILED
    print(f"Logged out{for_account(name)}: removed the token from the cache; {said}.", file=err)
    return max(code for _, code in outcomes)


def _removed(run: Run, remove: Callable[[], object], what: str, said: str, err: TextIO) -> bool:
    """Whether ``remove()`` took ``what`` out of the cache; if not, one line that says so and
    what LiveChat was told (``said``)."""
    try:
        remove()
    except (OSError, LiveChatTokenError) as error:
        print(
            f"livechat-token: could not remove {what} from {printable(str(run.cache.path))} "
            f"({reason(error)}); {said}.",
            file=err,
        )
        return False
    return True


def _revoke(accounts_url: str, what: str, token: str, *, customer: bool = False) -> tuple[str, int]:
    from .oauth import revoke, revoke_customer

    try:
        (revoke_customer if customer else revoke)(accounts_url, token)
    except TokenRejected:
        return f"the {what} was no longer valid at LiveChat", OK
    except AccountsUnreachable as error:
        return f"the {what} could NOT be revoked at LiveChat ({error})", NOT_REVOKED
    return f"the {what} was revoked at LiveChat", OK
