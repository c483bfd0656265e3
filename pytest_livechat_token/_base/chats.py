"""Which chat a request started, resumed or deactivated (Agent and Customer Chat API v3.6:
Start Chat answers its ``chat_id``; Resume Chat names it in ``chat.id``; Deactivate Chat in
``id``), alike for the Web APIs and RTM. Pure."""

from __future__ import annotations

from typing import Any

from .bearer import is_short_id

CHAT_ACTIONS = frozenset({"start_chat", "resume_chat", "deactivate_chat"})


def chat_of(action: str, sent: Any, answer: Any) -> str | None:
    """The id of the chat ``action`` (one of ``CHAT_ACTIONS``) acted on, from the payload
    ``sent`` and the successful ``answer``; None when it is not there or not an id."""
    if action == "start_chat":
        found = answer.get("chat_id") if isinstance(answer, dict) else None
    elif action == "resume_chat":
        chat = sent.get("chat") if isinstance(sent, dict) else None
        found = chat.get("id") if isinstance(chat, dict) else None
    else:
        found = sent.get("id") if isinstance(sent, dict) else None
    return found if is_short_id(found) else None
