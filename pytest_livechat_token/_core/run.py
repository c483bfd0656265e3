"""One run of a front end (a pytest process, a ``livechat-token`` command): everything the core
shares between accounts and customers, and what each obtained. It knows nothing of how a token
is obtained: ``obtain.source_of(run, name)`` is the ``TokenSource`` of one account and
``customers.CustomerSource(run)`` the customers', both stateless readers of the run.

Its repr shows the settings only: the environment and the hand-off may hold tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from .._base.bearer import BearerToken, is_usable, seconds_left, utcnow
from .._base.environment import env_token, token_env_of
from .._base.errors import LiveChatTokenError, LoginFailed, NotConfigured, RenewalWarning, warn
from .._base.settings import (
    CLIENT_SECRET_ENV,
    REFRESH_ENV,
    TOKEN_ENV,
    Settings,
    Wording,
)
from .._store.cache import BotEntry, CacheEntry, CustomerEntry, Key, TokenCache

if TYPE_CHECKING:
    from .._auth.terminal import Terminal
    from .._base.bearer import BotToken, CustomerToken
    from .handed import HandOff


class Notices:
    """Where the core's messages go. ``say``: on the terminal open for a login, else where the
    front end shows notices (``notify``; None: not shown). ``tell``: something the person
    should know, on the terminal, else a ``RenewalWarning``. A worker's messages start with
    its name (``tag``)."""

    __slots__ = ("_notify", "tag")

    def __init__(self, who: str | None, notify: Callable[[str], None] | None) -> None:
        self.tag = f"[{who}] " if who else ""
        self._notify = notify

    def say(self, message: str, terminal: Terminal | None = None) -> None:
        if terminal is not None:
            terminal.say(f"\n{self.tag}{message}\n")
        elif self._notify is not None:
            self._notify(f"{self.tag}{message}")

    def tell(self, message: str, terminal: Terminal | None = None) -> None:
        if terminal is not None:
            terminal.say(f"  ! {message}\n")
        else:
            warn(RenewalWarning(message))


class Run:
    """The settings, the environment, whether a person can be asked (``interactive``), the
    worker's name (``who``), the controller's hand-off, the front end's words and notices, the
    cache and its locks, the clock, and what each account obtained or failed in this run."""

    def __init__(
        self,
        settings: Settings,
        environ: Mapping[str, str],
        *,
        interactive: bool,
        who: str | None = None,
        handed: HandOff | None = None,
        open_terminal: Callable[[], Terminal | None] | None = None,
        now: Callable[[], datetime] = utcnow,
        wording: Wording | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.environ = environ
        self.interactive = interactive
        self.who = who
        self.handed = handed
        self._open_terminal = open_terminal  # None: the controlling terminal
        self.now = now
        self.wording = wording or Wording()
        self.notices = Notices(who, notify)
        self.cache = TokenCache(settings.token_cache, unresolved=settings.cache_problem)
        self.locks = self.cache.locks
        self.started_at = now()
        self.obtained: dict[str, BearerToken] = {}
        """The token each account obtained by a login or renewal of this process."""
        self.failed: dict[str, LoginFailed] = {}
        """A login of this process that ended badly, by account: not asked again."""
        self.accounts_used: set[str] = set()
        """The account names asked for in this run (``obtain.source_of`` checks each new one
        against them)."""
        self.customers_obtained: dict[str, CustomerToken] = {}
        """The token each customer fetched or read in this run, by name."""
        self.customers_failed: dict[str, LiveChatTokenError] = {}
        """A customer fetch that was refused, by name: not asked again in this run."""
        self.bots_obtained: dict[str, BotToken] = {}
        """The token each bot was issued or read in this run, by name."""
        self.bots_failed: dict[str, LiveChatTokenError] = {}
        """A bot that could not be had, by name: not asked again in this run."""

    def __repr__(self) -> str:
        return f"Run({self.settings!r}, interactive={self.interactive}, who={self.who!r})"

    @property
    def client_id(self) -> str:
        """The client id; ``NotConfigured`` when there is none."""
        if self.settings.client_id is None:
            raise NotConfigured(
                f"no LiveChat client id configured: {self.wording.flag('client_id')}, "
                f"or set {TOKEN_ENV} to a token"
            )
        return self.settings.client_id

    def token_env(self, account: str, base: str = TOKEN_ENV) -> str:
        """The variable that can hold ``account``'s token (``base``: ``REFRESH_ENV`` for its
        refresh token)."""
        return base if account == self.settings.account else token_env_of(account, base)

    def env_refresh_token(self, account: str) -> str | None:
        """The refresh token the environment holds for ``account`` (a server-side app's, in
        CI), checked; None when there is none."""
        default = account == self.settings.account
        return env_token(self.environ, account, default=default, base=REFRESH_ENV)

    @property
    def client_secret(self) -> str | None:
        """A server-side app's client secret (``LIVECHAT_CLIENT_SECRET``, environment only)."""
        return self.environ.get(CLIENT_SECRET_ENV, "").strip() or None

    def fresh(self, entry: CacheEntry | CustomerEntry | BotEntry) -> bool:
        """Whether a cached token is good for this run: at least ``min_ttl`` left, or obtained
        since this run started (a server may issue tokens that live less than ``min_ttl``:
        one run never renews twice) and not yet expired. A bot entry with no token is not."""
        if entry.expires_at is None or entry.obtained_at is None:
            return False
        now = self.now()
        if is_usable(entry.expires_at, self.settings.min_ttl, now):
            return True
        return entry.obtained_at >= self.started_at and seconds_left(entry.expires_at, now) > 0

    def terminal(self) -> Terminal | None:
        """The terminal to ask the person on, when there is one."""
        if self._open_terminal is not None:
            return self._open_terminal()
        from .._auth.terminal import open_terminal  # only a login needs it

        return open_terminal()

    def client_entries(
        self, entries: Mapping[Key, CacheEntry] | None = None
    ) -> dict[str, CacheEntry]:
        """This client's cached entries (of ``entries``, else of the cache), by account name."""
        url, client = self.settings.accounts_url, self.client_id
        found = self.cache.entries() if entries is None else entries
        return {key[2]: entry for key, entry in found.items() if key[:2] == (url, client)}

    def accounts(self, entries: Mapping[Key, CacheEntry] | None = None) -> list[str]:
        """The names of the accounts cached for this client, in order."""
        return sorted(self.client_entries(entries))

    def customer_names(self, customers: Mapping[Key, CustomerEntry]) -> list[str]:
        """The names of this client's customers in ``customers``, in order."""
        ours = (self.settings.accounts_url, self.client_id)
        return sorted(name for url, client, name in customers if (url, client) == ours)

    def bot_names(self, bots: Mapping[Key, BotEntry]) -> list[str]:
        """The names of this client's bots in ``bots``, in order."""
        ours = (self.settings.api_url, self.client_id)
        return sorted(name for url, client, name in bots if (url, client) == ours)

    def users(self) -> dict[str, str | None]:
        """The account id of each account of this client that is cached or was obtained in
        this run (None where unknown), by name."""
        users = {name: entry.account_id for name, entry in self.client_entries().items()}
        for name, token in self.obtained.items():
            if token.account_id is not None:
                users[name] = token.account_id
        return dict(sorted(users.items()))
