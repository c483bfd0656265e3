"""Every test in a code example of the README and the docs, extracted from the page (never
copied), run with pytest against the test accounts server and the test RTM server.

An example may call ``https://api.livechatinc.com`` as a user's code would: the run's conftest
sends those requests to the test server instead (the scheme, host and port only; the path,
headers and body stay), so what the server sees is what LiveChat would see.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ..support.accounts_server import AccountsServer
from ..support.helpers import cache_token
from ..support.rtm_server import RtmServer

ROOT = Path(__file__).parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
SCOPE = "chats--all:rw,customers:own,agents--all:rw,groups--all:ro,agents-bot--my:rw"

ROUTE = """
import httpx

_send = httpx.HTTPTransport.handle_request


def _to_the_test_server(self, request):
    if request.url.host == "api.livechatinc.com":
        request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port={port})
    return _send(self, request)


httpx.HTTPTransport.handle_request = _to_the_test_server
"""


def examples() -> list[pytest.param]:  # type: ignore[valid-type]
    found = []
    for page in PAGES:
        text = page.read_text()
        for block in re.finditer(r"```python\n(.*?)```", text, re.DOTALL):
            if "def test_" in block.group(1):
                line = text[: block.start()].count("\n") + 1
                name = f"{page.relative_to(ROOT)}:{line}"
                found.append(pytest.param(block.group(1), id=name))
    return found


def test_the_pages_have_examples() -> None:
    assert len(examples()) >= 15


@pytest.mark.parametrize("example", examples())
def test_an_example_runs(
    example: str,
    pytester: pytest.Pytester,
    accounts: AccountsServer,
    rtm_server: RtmServer,
    cache_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if "from livechat." in example:  # the official SDK's recipe (min-deps runs without it)
        pytest.importorskip("livechat", reason="lc-sdk-python is in the test extras")
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest -p no:html")
    for account, account_id in (("default", "acc-1"), ("supervisor", "acc-2"), ("agent", "acc-3")):
        token = accounts.issue(account_id=account_id, scope=SCOPE)
        cache_token(
            cache_file, accounts.url, token, account=account, account_id=account_id, scope=SCOPE
        )
    pytester.makeconftest(ROUTE.format(port=accounts.url.rsplit(":", 1)[1]))
    pytester.makepyfile(test_example=example)
    api = rtm_server.url if "_rtm" in example else f"{accounts.url}/v3.6/"
    settings = [
        "-p",
        "no:cacheprovider",
        "--livechat-client-id=client-1",
        f"--livechat-accounts-url={accounts.url}",
        f"--livechat-api-url={api}",
    ]
    if "pytest.mark.vcr" in example:  # recorded once, then replayed with no credential
        recorded = pytester.runpytest_subprocess(*settings, "--record-mode=once")
        assert recorded.ret == 0, recorded.stdout.str()
        settings.append("--record-mode=none")
        cache_file.unlink()
    result = pytester.runpytest_subprocess(*settings, "-rA")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 1, result.stdout.str()
    assert set(outcomes) <= {"passed", "warning", "warnings"}, result.stdout.str()
