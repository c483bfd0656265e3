"""The guided implicit-grant login: a short conversation with the person at the terminal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from .accounts import token_info
from .authorize import MAX_TRIES, Grant, authorization_url, new_state, parse_paste
from .bearer import BearerToken, describe_duration, expires_at_from
from .errors import AccountsUnreachable, LoginFailed, PasteRejected, TokenRejected
from .loopback import LoopbackReceiver, loopback_target
from .settings import Settings, shorten
from .terminal import Terminal


def instructions(
    url: str, redirect_uri: str, *, opened: bool, who: str | None, catching: bool = False
) -> str:
    where = f" ({who})" if who else ""
    browser = " A browser window was opened for it." if opened else ""
    if catching:
        landing = (
            f"  2. LiveChat then sends the browser to {redirect_uri}, where this login picks the\n"
            "     answer up by itself; the page says when you are logged in.\n"
            "  3. If it does not, copy the whole address from the address bar and paste it here.\n"
        )
    else:
        landing = (
            f"  2. LiveChat then sends the browser to {redirect_uri}. That page may well show an\n"
            '     error such as "This site can\'t be reached": that is expected, the token is in\n'
            "     its address.\n"
            "  3. Copy the whole address from the browser's address bar and paste it here.\n"
        )
    return (
        f"\nLiveChat login needed{where}.\n"
        f"  1. Open this address in a browser where you are logged in to LiveChat.{browser}\n"
        f"\n     {url}\n\n" + landing
    )


def guided_login(
    settings: Settings,
    terminal: Terminal,
    *,
    who: str | None,
    open_url: Callable[[str], bool],
    now: Callable[[], datetime],
) -> BearerToken:
    """Walk the person through the implicit grant; return the confirmed token.

    The token's ``expires_at`` is None only when neither the accounts server nor the
    pasted answer told how long it lives: such a token is for this run only.
    Raises ``LoginFailed`` with a message for the person.
    """
    assert settings.client_id is not None
    state = new_state()
    url = authorization_url(settings.accounts_url, settings.client_id, settings.redirect_uri, state)
    receiver = _start_receiver(settings.redirect_uri, terminal)
    try:
        opened = settings.open_browser and open_url(url)
        terminal.say(
            instructions(
                url, settings.redirect_uri, opened=opened, who=who, catching=receiver is not None
            )
        )
        return _answers(settings, terminal, state, receiver, now)
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
    state: str,
    receiver: LoopbackReceiver | None,
    now: Callable[[], datetime],
) -> BearerToken:
    """Take answers, pasted or from the browser, until one holds a good token (3 tries)."""
    timeout = settings.prompt_timeout
    wait = "Waiting for the browser, or paste" if receiver else "Paste"
    attempt = 0
    while attempt < MAX_TRIES:
        prompt = f"{wait} the address (hidden as you paste; {timeout:.0f} s; Ctrl-C cancels): "
        try:
            pasted = terminal.ask_hidden(prompt, timeout, receiver.wake_fd if receiver else None)
        except TimeoutError:
            raise LoginFailed(
                f"No address was pasted within {timeout:.0f} s, so the LiveChat login stopped. "
                "Run again and paste the address, or allow more time with "
                "--livechat-prompt-timeout."
            ) from None
        except EOFError:
            raise LoginFailed(
                "The LiveChat login stopped: input ended before an address was pasted."
            ) from None
        except KeyboardInterrupt:
            raise LoginFailed("The LiveChat login was cancelled (Ctrl-C).") from None
        answer = receiver.take() if pasted is None and receiver else None
        if pasted is None and answer is None:
            continue
        attempt += 1
        if answer is not None:
            terminal.say("  Received the login from the browser.\n")
        try:
            grant = parse_paste(
                answer.text if answer else pasted or "",
                expected_state=state,
                client_id=settings.client_id or "",
                redirect_uri=settings.redirect_uri,
                require_state=answer is not None,
            )
            token = _confirm(grant, settings, terminal, now)
        except PasteRejected as rejected:
            if answer is not None:
                answer.reply(f"Not logged in: {rejected}")
            left = MAX_TRIES - attempt
            more = f" Try again ({left} {'try' if left == 1 else 'tries'} left)." if left else ""
            terminal.say(f"  ✗ {rejected}{more}\n")
            continue
        if answer is not None:
            answer.reply("Logged in to LiveChat: you can close this tab.")
        lasts = (
            f"valid for {describe_duration((token.expires_at - now()).total_seconds())}"
            if token.expires_at
            else "for this run only (its expiry is unknown, so it is not cached)"
        )
        terminal.say(f"  ✓ Logged in to LiveChat: token {lasts}.\n")
        return token
    raise LoginFailed(
        f"The LiveChat login stopped after {MAX_TRIES} unusable answers (see the messages "
        "above). Run again when the address you paste comes from the login address shown."
    )


def _confirm(
    grant: Grant, settings: Settings, terminal: Terminal, now: Callable[[], datetime]
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
    else:
        if info.client_id is not None and info.client_id != settings.client_id:
            raise PasteRejected(
                f"That token belongs to another app (client {shorten(info.client_id)}), not to "
                f"client {shorten(settings.client_id or '')}. Log in with the address above."
            )
        expires_in = info.expires_in if info.expires_in is not None else grant.expires_in
        scope = info.scope or grant.scope
    expires_at = expires_at_from(expires_in, now()) if expires_in is not None else None
    return BearerToken(grant.access_token, expires_at=expires_at, scope=scope)
