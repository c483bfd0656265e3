"""The tokens and secrets the environment holds for the plugin: the token variable of each
account (``LIVECHAT_BEARER_TOKEN_<NAME>``), its value checked as a paste is, and every secret
to mask from the start of a run. A value is never shown, only the variable's name."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import unquote

from .errors import ConfigError
from .settings import CLIENT_SECRET_ENV, REFRESH_ENV, TOKEN_ENV


def token_env_of(account: str, base: str = TOKEN_ENV) -> str:
    """The variable that holds the token of ``account``: ``LIVECHAT_BEARER_TOKEN_SUPERVISOR``
    (upper-cased, ``-`` as ``_``); ``base``: ``REFRESH_ENV`` for its refresh token."""
    return f"{base}_{account.upper().replace('-', '_')}"


def env_token(
    environ: Mapping[str, str],
    account: str | None = None,
    *,
    default: bool = True,
    base: str = TOKEN_ENV,
) -> str | None:
    """The token the environment holds for ``account``, or None.

    ``LIVECHAT_BEARER_TOKEN_<NAME>`` is the token of the account ``name``; the default account
    (``default`` true: ``account`` is it, or None) also takes ``LIVECHAT_BEARER_TOKEN``.
    A leading ``Bearer `` and URL-encoding (``dal%3A...``) are taken off, as for a paste.
    A value that cannot be a token is a ``ConfigError`` that names the variable, never its value.
    """
    names = [token_env_of(account, base)] if account is not None else []
    if default:
        names.append(base)
    for name in names:
        if (value := _env_value(environ, name)) is not None:
            return value
    return None


def env_tokens(environ: Mapping[str, str]) -> dict[str, str]:
    """Every token the environment holds, by variable (``LIVECHAT_BEARER_TOKEN`` and
    ``LIVECHAT_BEARER_TOKEN_<NAME>``), each checked: a malformed one is a ``ConfigError``."""
    found = {}
    for name in sorted(environ):
        is_token_env = name == TOKEN_ENV or name.startswith(f"{TOKEN_ENV}_")
        if is_token_env and (value := _env_value(environ, name)) is not None:
            found[name] = value
    return found


def env_secrets(environ: Mapping[str, str]) -> list[str]:
    """Every secret the environment holds for the plugin, checked, to be masked from the start:
    the bearer and refresh tokens (``ConfigError`` for a malformed one) and the client secret."""
    found = list(env_tokens(environ).values())
    for name in sorted(environ):
        is_refresh_env = name == REFRESH_ENV or name.startswith(f"{REFRESH_ENV}_")
        if is_refresh_env and (value := _env_value(environ, name)) is not None:
            found.append(value)
    secret = environ.get(CLIENT_SECRET_ENV, "").strip()
    if secret:
        found.append(secret)
    return found


def _env_value(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    if "%" in value:
        value = unquote(value)
    if not value:
        return None
    from .bearer import is_token_shaped  # only when a variable is set

    if not is_token_shaped(value):
        if len(value) < 8:
            why = f"{len(value)} characters are too few for one (a token has dozens)"
        elif len(value) > 4096:
            why = f"{len(value)} characters are too many for one"
        else:
            why = (
                f"it has {len(value)} characters, some of them (spaces, newlines, quotes or "
                "others) never found in one"
            )
        raise ConfigError(
            f"{name} does not hold a LiveChat token: {why}. Set it to the token alone (dal:...)."
        )
    return value
