"""Personal Access Tokens (``LIVECHAT_PAT``): Basic auth with ``<account_id>:<token>``, for the
APIs that take them (Authorization > Personal Access Tokens): the Agent Chat API (Web), the
Configuration API, the Reports API, the Global Accounts API, the HelpDesk API, the Customer
Data Platform API and the Text API. Not RTM, and not the Customer Chat API. Pure; imported only
when ``LIVECHAT_PAT`` is set."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from .bearer import is_token_shaped, mask, region_of
from .errors import ConfigError
from .settings import PAT_ENV


class PersonalAccessToken:
    """A Personal Access Token and the account it belongs to; its ``repr()`` is masked."""

    __slots__ = ("account_id", "basic", "token")

    def __init__(self, account_id: str, token: str) -> None:
        self.account_id = account_id
        self.token = token
        self.basic = base64.b64encode(f"{account_id}:{token}".encode()).decode("ascii")
        """The Base64 form of ``<account_id>:<token>``, as the Developer Console shows it."""

    @property
    def authorization(self) -> str:
        """The value of an ``Authorization`` header: ``Basic <base64>``."""
        return f"Basic {self.basic}"

    @property
    def region(self) -> str | None:
        """The token's region prefix (``dal``), when it has one."""
        return region_of(self.token)

    def secrets(self) -> tuple[str, ...]:
        """Every form of it that must never be shown."""
        return (self.token, self.basic, f"{self.account_id}:{self.token}")

    def __repr__(self) -> str:
        return f"PersonalAccessToken(account_id={self.account_id!r}, token={mask(self.token)!r})"


def from_environ(environ: Mapping[str, str]) -> PersonalAccessToken | None:
    """The PAT in ``LIVECHAT_PAT``: ``<account_id>:<token>`` (split at the first colon) or the
    Base64 value of that (a value without a colon). None when unset or empty; a value that is
    neither is a ``ConfigError`` that does not echo it."""
    value = environ.get(PAT_ENV, "").strip()
    if value[:6].lower() == "basic ":
        value = value[6:].strip()
    if not value:
        return None
    plain = value if ":" in value else _decoded(value)
    account_id, _, token = (plain or "").partition(":")
    if "@" in account_id and is_token_shaped(token):
        raise ConfigError(
            f"{PAT_ENV} names an e-mail address as its user (the old Configuration API v2 "
            "form): the APIs of v3.x need the account id instead. Set it to "
            "<account_id>:<token>; the Developer Console shows the account id beside the token."
        )
    if not _is_account_id(account_id) or not is_token_shaped(token):
        raise ConfigError(
            f"{PAT_ENV} does not hold a Personal Access Token: it has {len(value)} characters. "
            "Set it to <account_id>:<token>, or to the Base64 value the Developer Console "
            "shows beside the token."
        )
    return PersonalAccessToken(account_id, token)


def _decoded(value: str) -> str | None:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def _is_account_id(text: str) -> bool:
    return 0 < len(text) <= 128 and text.isprintable() and not any(c.isspace() for c in text)
