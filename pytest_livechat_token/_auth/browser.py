"""Opening the authorization address in the person's browser."""

from __future__ import annotations

import os
import sys
import threading

_WAIT = 5.0


def open_in_browser(url: str) -> bool:
    """Open ``url`` in a graphical browser; False where none could be opened.

    On Linux and the BSDs without a display, ``webbrowser`` would fall back to a console
    browser (lynx, w3m) that takes over the very terminal we prompt on, so we open nothing
    there unless ``BROWSER`` names one. A browser command that does not return (``webbrowser``
    waits for the ones named in ``BROWSER``) holds up the prompt for at most 5 seconds.
    """
    import webbrowser  # only a login needs it

    headless = sys.platform not in ("darwin", "win32") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )
    if headless and not os.environ.get("BROWSER"):
        return False
    opened: list[bool] = []

    def run() -> None:
        try:
            opened.append(webbrowser.open(url, new=2))
        except (webbrowser.Error, OSError):
            opened.append(False)

    worker = threading.Thread(target=run, name="livechat-browser", daemon=True)
    worker.start()
    worker.join(_WAIT)
    return opened[0] if opened else True
