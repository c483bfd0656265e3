"""The guided login (implicit or code grant): a short conversation with the person at the
terminal, and with the browser where the redirect URI is a loopback one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from .._base.bearer import BearerToken, describe_duration, expires_at_from
from .._base.errors import (
    AccountsUnreachable,
    GrantRefused,
    LoginCancelled,
    LoginFailed,
    PasteRejected,
    TokenRejected,
)
from .._base.settings import DEFAULT_ACCOUNT, Settings, Wording, shorten
from .authorize import (
    MAX_TRIES,
    Grant,
    answer_state,
    authorization_url,
    new_code_verifier,
    new_state,
    parse_code_answer,
    parse_paste,
)
from .loopback import LoopbackReceiver, loopback_target
from .oauth import exchange_code, token_info
from .terminal import Terminal


@dataclass(frozen=True)
class LoginResult:
    """A login's token, and the refresh token that the code grant adds."""

    token: BearerToken
    refresh_token: str | None = field(default=None, repr=False)


Interpret = Callable[[str, bool], LoginResult]
"""Turns an answer (pasted, or from the browser when the flag is true) into a result, or
raises ``PasteRejected``."""


def instructions(
    url: str,
    redirect_uri: str,
    *,
    opened: bool,
    who: str | None,
    catching: bool = False,
    note: str = "",
    account: str = DEFAULT_ACCOUNT,
    others: Sequence[str] = (),
) -> str:
    """What the person reads at a login. The account is named when there is more than one
    (``others``: the names of the client's other accounts); then it also says how to log in as
    another user than the one the browser is logged in as."""
    where = f" ({who})" if who else ""
    whom = ""
    if account != DEFAULT_ACCOUNT or others:
        whom = f"  Log in as the LiveChat user you use as {account!r}.\n"
    if others:
        listed = ", ".join(repr(name) for name in others)
        whom += (
            f"  ! {listed} {'is' if len(others) == 1 else 'are'} another user: to log in as a "
            "different one, open the address in a private\n"
            "    window, or log out of LiveChat in the browser first.\n"
        )
    browser = " A browser window was opened for it." if opened else ""
    where_to_log_in = (
        f"where you are, or will be, logged in to LiveChat as {account!r}"
        if others
        else "where you are logged in to LiveChat"
    )
    if catching:
        landing = (
            f"  2. LiveChat then sends the browser to {redirect_uri}, where this login picks the\n"
            "     answer up by itself; the page says when you are logged in.\n"
            "  3. If it does not, copy the whole address from the address bar and paste it here.\n"
        )
    else:
        landing = (
            f"  2. LiveChat then sends the browser to {redirect_uri}. That page may well show an\n"
            '     error such as "This site can\'t be reached": that is expected, the answer is in\n'
            "     its address.\n"
            "  3. Copy the whole address from the browser's address bar and paste it here.\n"
        )
    return (
        f"\nLiveChat login needed{where}.\n"
        + whom
        + f"  1. Open this address in a browser {where_to_log_in}.{browser}\n"
        f"\n     {url}\n\n" + landing + (f"  ! {note}\n" if note else "")
    )


def guided_login(
    settings: Settings,
    terminal: Terminal,
    *,
    who: str | None,
    open_url: Callable[[str], bool],
    now: Callable[[], datetime],
    keep: Callable[[LoginResult], None] = lambda result: None,
    wording: Wording | None = None,
    account: str = DEFAULT_ACCOUNT,
    others: Sequence[str] = (),
    vet: Callable[[BearerToken], None] = lambda token: None,
    client_secret: str | None = None,
    consent: bool = False,
) -> LoginResult:
    """Walk the person through the grant the settings name; return its token.

    ``consent`` asks LiveChat for its consent screen again (``prompt=consent``).

    ``vet`` sees each token the accounts server confirmed and raises ``PasteRejected`` to turn
    it away (it uses up a try). ``keep`` gets the result as soon as it is known, before the
    loopback receiver is stopped, so that nothing that happens in the teardown (Ctrl-C
    included) can lose it.

    With the implicit grant, the token's ``expires_at`` is None only when neither the accounts
    server nor the answer told how long it lives: such a token is for this run only.
    Raises ``LoginFailed`` with a message for the person.
    """
    client_id = settings.client_id
    assert client_id is not None
    words = wording or Wording()
    state = new_state()
    verifier = new_code_verifier() if settings.grant == "code" else None
    url = authorization_url(
        settings.accounts_url,
        client_id,
        settings.redirect_uri,
        state,
        code_verifier=verifier,
        consent=consent,
    )

    def implicit(text: str, from_browser: bool) -> LoginResult:
        grant = parse_paste(
            text,
            expected_state=state,
            client_id=client_id,
            redirect_uri=settings.redirect_uri,
            require_state=from_browser,
            wording=words,
        )
        token = _confirm(grant, settings, terminal, now, account)
        vet(token)
        return LoginResult(token)

    def code(text: str, from_browser: bool) -> LoginResult:
        assert verifier is not None
        answer = parse_code_answer(
            text,
            expected_state=state,
            client_id=client_id,
            redirect_uri=settings.redirect_uri,
            wording=words,
        )
        result = _exchange(
            answer, verifier, settings, terminal, now, account=account, client_secret=client_secret
        )
        vet(result.token)
        return result

    # From before the address is shown until the login ends, nothing typed is seen or lost.
    with terminal.hush():
        receiver = _start_receiver(settings.redirect_uri, terminal)
        try:
            opened = settings.open_browser and open_url(url)
            terminal.say(
                instructions(
                    url,
                    settings.redirect_uri,
                    opened=opened,
                    who=who,
                    catching=receiver is not None,
                    note=words.login_note,
                    account=account,
                    others=others,
                )
            )
            interpret = code if verifier else implicit
            result = _answers(
                settings,
                terminal,
                receiver=receiver,
                interpret=interpret,
                state=state,
                now=now,
                wording=words,
            )
            keep(result)
            return result
        finally:
            if receiver is not None:
                receiver.close()


def _start_receiver(redirect_uri: str, terminal: Terminal) -> LoopbackReceiver | None:
    target = loopback_target(redirect_uri)
    if target is None:
        return None
    try:
        return LoopbackReceiver(target)
    except OSError as error:
        terminal.say(
            f"  ! Cannot listen on {target.host}:{target.port} ({error.strerror or error}), so "
            "the browser's answer cannot be picked up: paste the address instead.\n"
        )
        return None


def _answers(
    settings: Settings,
    terminal: Terminal,
    *,
    receiver: LoopbackReceiver | None,
    interpret: Interpret,
    state: str,
    now: Callable[[], datetime],
    wording: Wording,
) -> LoginResult:
    """Take answers, pasted or from the browser, until one holds a good token (3 tries).

    An answer from the browser without this login's state is turned away without a word on
    the terminal and without using up a try: any page can make a browser send one.
    """
    timeout = settings.prompt_timeout
    wait = "Waiting for the browser, or paste" if receiver else "Paste"
    attempt = 0
    while attempt < MAX_TRIES:
        prompt = f"{wait} the address (hidden as you paste; {timeout:.0f} s; Ctrl-C cancels): "
        try:
            pasted = terminal.ask_hidden(prompt, timeout, receiver.wake_fd if receiver else None)
        except TimeoutError:
            raise _ended(
                terminal,
                LoginFailed(
                    f"No address was pasted within {timeout:.0f} s, so the LiveChat login "
                    f"stopped. Run again and paste the address, or allow more time with "
                    f"{wording.flag('prompt_timeout')}."
                ),
            ) from None
        except EOFError:
            raise _ended(
                terminal,
                LoginFailed(
                    "The LiveChat login stopped: input ended before an address was pasted."
                ),
            ) from None
        except KeyboardInterrupt:
            raise _ended(
                terminal, LoginCancelled("The LiveChat login was cancelled (Ctrl-C).")
            ) from None
        answer = receiver.take() if pasted is None and receiver else None
        if pasted is None and answer is None:
            continue
        if answer is not None and answer_state(answer.text) != state:
            answer.reply("Not the answer of the login in progress: return to your terminal.")
            continue
        attempt += 1
        if answer is not None:
            terminal.say("  Received the login from the browser.\n")
        try:
            result = interpret(answer.text if answer else pasted or "", answer is not None)
        except PasteRejected as rejected:
            if answer is not None:
                answer.reply(f"Not logged in: {rejected}")
            left = MAX_TRIES - attempt
            more = f" Try again ({left} {'try' if left == 1 else 'tries'} left)." if left else ""
            terminal.say(f"  ✗ {rejected}{more}\n")
            continue
        if answer is not None:
            answer.reply("Logged in to LiveChat: you can close this tab.")
        expires_at = result.token.expires_at
        lasts = (
            f"valid for {describe_duration((expires_at - now()).total_seconds())}"
            if expires_at
            else "for this run only (its expiry is unknown, so it is not cached)"
        )
        renews = "; it will be renewed silently" if result.refresh_token else ""
        terminal.say(f"  ✓ Logged in to LiveChat: token {lasts}{renews}.\n")
        return result
    raise LoginFailed(
        f"The LiveChat login stopped after {MAX_TRIES} unusable answers (see the messages "
        "above). Run again when the address you paste comes from the login address shown."
    )


def _ended(terminal: Terminal, failed: LoginFailed) -> LoginFailed:
    """A prompt that ended without an answer says so at once, where the person is looking;
    what they type from now on (a late paste) is neither shown nor left for the shell."""
    terminal.linger()
    terminal.say(f"  ✗ {failed} What you type now is not shown, and is dropped.\n")
    return failed


def _confirm(
    grant: Grant,
    settings: Settings,
    terminal: Terminal,
    now: Callable[[], datetime],
    account: str,
) -> BearerToken:
    """Check the token with the accounts server and learn its expiry and scope."""
    terminal.say("  Checking the token with the LiveChat accounts server…\n")
    try:
        info = token_info(settings.accounts_url, grant.access_token)
    except TokenRejected as rejected:
        raise PasteRejected(f"No good: {rejected}") from None
    except AccountsUnreachable as unreachable:
        terminal.say(f"  ! Could not confirm the token: {unreachable}. Using it as it is.\n")
        expires_in, scope = grant.expires_in, grant.scope
        account_id = organization_id = None
    else:
        if info.client_id is not None and info.client_id != settings.client_id:
            raise PasteRejected(
                f"That token belongs to another app (client {shorten(info.client_id)}), not to "
                f"client {shorten(settings.client_id or '')}. Log in with the address above."
            )
        expires_in = info.expires_in if info.expires_in is not None else grant.expires_in
        scope = info.scope or grant.scope
        account_id, organization_id = info.account_id, info.organization_id
    expires_at = expires_at_from(expires_in, now()) if expires_in is not None else None
    return BearerToken(
        grant.access_token,
        expires_at=expires_at,
        scope=scope,
        account=account,
        account_id=account_id,
        organization_id=organization_id,
    )


def _exchange(
    code: str,
    verifier: str,
    settings: Settings,
    terminal: Terminal,
    now: Callable[[], datetime],
    *,
    account: str,
    client_secret: str | None = None,
) -> LoginResult:
    """Trade the authorization code for a token pair at the accounts server."""
    terminal.say("  Trading the code for a token at the LiveChat accounts server…\n")
    assert settings.client_id is not None
    try:
        response = exchange_code(
            settings.accounts_url,
            settings.client_id,
            settings.redirect_uri,
            code,
            verifier,
            client_secret=client_secret,
        )
    except GrantRefused as refused:
        raise PasteRejected(
            f"The code was not accepted: {refused}. A code works once, for a few minutes: "
            "open the address above again, log in, and paste the new address."
        ) from None
    except AccountsUnreachable as unreachable:
        raise PasteRejected(
            f"The code could not be traded for a token: {unreachable}. "
            "Open the address above again when the accounts server can be reached."
        ) from None
    account_id, organization_id = response.account_id, response.organization_id
    if account_id is None:  # an answer without it: ask, as for an implicit grant's token
        try:
            info = token_info(settings.accounts_url, response.access_token)
            account_id, organization_id = info.account_id, info.organization_id
        except (TokenRejected, AccountsUnreachable):
            pass  # the user stays unknown; the token is good all the same
    token = BearerToken(
        response.access_token,
        expires_at=response.expires_at(now()),
        scope=response.scope,
        account=account,
        account_id=account_id,
        organization_id=organization_id,
    )
    return LoginResult(token, response.refresh_token)
