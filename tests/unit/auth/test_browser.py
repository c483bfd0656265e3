"""``browser.open_in_browser``."""

from __future__ import annotations

import pytest


def test_no_display_opens_no_console_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_livechat_token._auth import browser

    monkeypatch.setattr("sys.platform", "linux")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        monkeypatch.delenv(name, raising=False)
    assert browser.open_in_browser("https://a.test/") is False
