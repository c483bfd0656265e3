"""What one pytest process keeps in ``config.stash``, and the run of the core made from it when
a token is first needed: the one place where the pytest front end imports the core lazily
(``run_of``), so that a run that needs no token never pays for it."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from .._base.errors import LiveChatTokenError
from .._base.settings import OPTIONS, TOKEN_ENV, Settings, Wording

if TYPE_CHECKING:
    from .._base.bearer import (  # noqa: F401 - named in StashKeys' types
        BearerToken,
        BotToken,
        CustomerToken,
    )
    from .._base.pat import PersonalAccessToken
    from .._core.cleanup import Cleanup
    from .._core.handed import HandOff
    from .._core.run import Run

SETTINGS = pytest.StashKey[Settings]()
STDIN_IS_TTY = pytest.StashKey[bool]()
PROCESS = pytest.StashKey["Process"]()
RUN = pytest.StashKey["Run"]()
TOKENS = pytest.StashKey["dict[str, BearerToken]"]()
"""The token of each account obtained in this process, by name (``livechat_bearer_for``)."""
CUSTOMER_TOKENS = pytest.StashKey["dict[str, CustomerToken]"]()
"""The token of each customer obtained in this process, by name (``livechat_customer_for``)."""
BOT_TOKENS = pytest.StashKey["dict[str, BotToken]"]()
"""The token of each bot obtained in this process, by name (``livechat_bot_for``)."""
CLEANUP = pytest.StashKey["Cleanup | None"]()
"""The chat cleanup of this process, made with the first client or session (None: off)."""
TESTING = pytest.StashKey["str | None"]()
"""The test whose chats a chat started now is (None: outside any, or a wider fixture's)."""
IDENTITIES = pytest.StashKey["dict[str, str]"]()
"""The real identities of the tokens handed out -> their stand-ins (for cassettes)."""


def replaying(config: pytest.Config) -> bool:
    """Whether the run only replays recordings (``--record-mode=none`` given to
    pytest-recording): the token fixtures then hand out stand-ins (``standins``)."""
    return bool(config.getoption("record_mode", None) == "none")


class Process:
    """What this process knows of itself: whether a person can be asked, what the xdist
    controller handed it (None in the controller or without xdist), and the Personal Access
    Token of ``LIVECHAT_PAT`` for ``livechat_api``. Set once at configure, never changed (a
    plain class: it is made at every start-up, a ``NamedTuple`` costs ten times as much)."""

    __slots__ = ("handed", "interactive", "pat")

    def __init__(
        self,
        interactive: bool,
        handed: HandOff | None,
        pat: PersonalAccessToken | None = None,
    ) -> None:
        self.interactive = interactive
        self.handed = handed
        self.pat = pat


def wording(config: pytest.Config, *, at_configure: bool = False) -> Wording:
    """How the core's messages name pytest's options. ``at_configure``: for
    ``--livechat-login``, which runs before any terminal is asked."""
    flags = {
        "client_id": "pass --livechat-client-id=ID, set LIVECHAT_CLIENT_ID or ini "
        "livechat_client_id",
        **{option.name: option.flag for option in OPTIONS if option.name != "client_id"},
        "login": "pytest --livechat-login",
        "drop_customer": "livechat-token logout --customer {name} (same settings)",
        "drop_bot": "livechat-token logout --bot {name} (same settings)",
        "refresh_token": "livechat-token refresh-token (same settings)",
    }
    first = (
        "run pytest --livechat-login in a terminal"
        if at_configure
        else "run pytest once in a terminal to log in (the token is cached for later runs), "
        "log in before the workers start with --livechat-login"
    )
    return Wording(flags, first, _timeout_note(config))


def run_of(config: pytest.Config, *, at_configure: bool = False) -> Run:
    """This process's run, made when first needed."""
    if RUN not in config.stash:
        from .._core.run import Run  # the core, off the start-up path

        process = config.stash[PROCESS]
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        config.stash[RUN] = Run(
            config.stash[SETTINGS],
            os.environ,
            interactive=process.interactive,
            who=f"worker {worker}" if worker else None,
            handed=process.handed,
            wording=wording(config, at_configure=at_configure),
            notify=lambda message: _notice(config, message),
        )
    return config.stash[RUN]


def cleanup_of(config: pytest.Config) -> Cleanup | None:
    """This process's chat cleanup, made when first needed; None when ``--livechat-cleanup``
    is off or the run replays recordings (its chats are no chats at LiveChat)."""
    if CLEANUP not in config.stash:
        cleanup = None
        if config.stash[SETTINGS].cleanup != "off" and not replaying(config):
            from .._core.cleanup import Cleanup

            cleanup = Cleanup(run_of(config), lambda: config.stash.get(TESTING, None))
        config.stash[CLEANUP] = cleanup
    return config.stash[CLEANUP]


def guarded(step: Callable[[], object]) -> str | None:
    """Run a step of the token path; None when it went well, else the one line to show.

    This is the boundary of the secret path: whatever goes wrong below, the person gets one
    line, no traceback, and no frame holding a token (the original exception is dropped).
    """
    try:
        step()
    except LiveChatTokenError as error:
        return str(error)
    except Warning as warning:  # one of ours, turned into an error by -W error
        return f"{type(warning).__name__}: {warning} (a warning made an error by -W error)"
    except Exception as error:  # anything else is a bug of ours: still one line, no token
        return (
            f"pytest-livechat-token failed unexpectedly ({type(error).__name__}) while getting a "
            "LiveChat token. Please report it (the message holds no token); "
            f"meanwhile set {TOKEN_ENV}."
        )
    return None


def _notice(config: pytest.Config, message: str) -> None:
    """A notice of the core where no terminal is open for it (the xdist controller)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"livechat: {message}")


def _timeout_note(config: pytest.Config) -> str:
    """What to do when pytest-timeout's thread method would stop a test during the login: its
    ``signal`` method is paused while the person answers (``terminal.alarm_paused``), this one
    cannot be."""
    if not config.pluginmanager.hasplugin("timeout"):
        return ""
    method = config.getoption("timeout_method", None) or config.getini("timeout_method")
    seconds = config.getoption("timeout", None) or config.getini("timeout")
    try:
        limit = float(seconds or 0)
    except ValueError:
        return ""
    if method != "thread" or limit <= 0:
        return ""
    return (
        f"pytest-timeout (thread method) stops a test after {limit:g} s, and the time spent "
        "here counts: if it stops this one, run `livechat-token login` (same settings), "
        "then pytest again."
    )
