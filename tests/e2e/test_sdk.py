"""The README's recipe for LiveChat's official Python SDK (lc-sdk-python), run with the SDK.

The SDK always calls ``https://api.livechatinc.com``; its httpx session is given a transport
that sends the same requests to the test server instead, keeping the SDK's own headers and
logging hooks, so what the server sees is what LiveChat would see.
"""

from __future__ import annotations

import pytest

from ..support.accounts_server import AccountsServer

pytest.importorskip("livechat", reason="lc-sdk-python is in the test extras")

RECIPE = """
import httpx
import pytest
from livechat.agent.web.base import AgentWeb

PORT = {port}


class ToTestServer(httpx.HTTPTransport):
    def handle_request(self, request):
        request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=PORT)
        return super().handle_request(request)


def routed(client):
    client.session = httpx.Client(
        headers=client.session.headers,
        event_hooks=client.session.event_hooks,
        transport=ToTestServer(),
    )
    return client


# The README's recipe:
@pytest.fixture(scope="session")
def agent_api(livechat_bearer):
    # The SDK wants the whole header value, sends no X-Region, and logs request headers
    # (the token too) unless disable_logging=True.
    return AgentWeb.get_client(
        access_token=livechat_bearer.authorization, disable_logging=True
    )


def test_list_chats(agent_api):
    response = routed(agent_api).list_chats()
    assert response.status_code == 200, response.text
    print("sent:", dict(agent_api.session.headers))


def test_the_bare_token_is_refused(livechat_bearer):
    bare = routed(AgentWeb.get_client(access_token=livechat_bearer, disable_logging=True))
    assert bare.list_chats().status_code == 401
"""


@pytest.mark.parametrize("logging", ["disable_logging=True", "disable_logging=False"])
def test_the_sdk_recipe(
    pytester: pytest.Pytester,
    accounts: AccountsServer,
    monkeypatch: pytest.MonkeyPatch,
    logging: str,
) -> None:
    token = accounts.issue()
    monkeypatch.setenv("LIVECHAT_BEARER_TOKEN", token)
    port = accounts.url.rsplit(":", 1)[1]
    pytester.makepyfile(test_sdk=RECIPE.format(port=port).replace("disable_logging=True", logging))
    result = pytester.runpytest_subprocess("-rA", "-s" if "False" in logging else "-q")
    result.assert_outcomes(passed=2)
    shown = result.stdout.str() + result.stderr.str()
    assert accounts.regions == [None], "the SDK sends no X-Region (the bare token got a 401)"
    assert accounts.count("POST", "/v3.6/agent/action/list_chats") == 2
    if logging == "disable_logging=True":
        assert token not in shown
        assert token.partition(":")[2] not in shown
    else:  # what the recipe's switch is for: the SDK's own log shows the header, token and all
        assert f"Bearer {token}" in shown
