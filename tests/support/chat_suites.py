"""Test suites that start chats, for the chat cleanup's end-to-end tests and its benchmark
(``tests/bench/run.py cleanup``)."""

from __future__ import annotations

SCOPE = "chats--all:rw,customers:own,agents-bot--my:rw"
"""What the agent token of these suites needs: chats, customers, bots."""

MANY = """
import pytest

@pytest.mark.parametrize("n", range({count}))
def test_sync(livechat_api, n):
    assert livechat_api.post("agent/action/start_chat", json={{}}).status_code == 200

@pytest.mark.asyncio
@pytest.mark.parametrize("n", range({count}))
async def test_async(livechat_async_api, n):
    answer = await livechat_async_api.post("agent/action/start_chat", json={{}})
    assert answer.status_code == 200

@pytest.mark.parametrize("n", range({count}))
def test_customer(livechat_customer_api, n):
    assert livechat_customer_api.post("start_chat", json={{}}).status_code == 200

@pytest.mark.parametrize("n", range({count}))
def test_bot(livechat_bot_api_for, n):
    bot = livechat_bot_api_for("greeter")
    assert bot.post("agent/action/start_chat", json={{}}).status_code == 200

@pytest.mark.parametrize("n", range({count}))
def test_rtm(livechat_rtm, n):
    assert livechat_rtm.request("start_chat", {{}})["chat_id"]

@pytest.mark.parametrize("n", range({rest}))
def test_resumed(livechat_api, n):
    chat = livechat_api.post("agent/action/start_chat", json={{}}).json()["chat_id"]
    livechat_api.post("agent/action/deactivate_chat", json={{"id": chat}})
    livechat_api.post("agent/action/resume_chat", json={{"chat": {{"id": chat}}}})
"""

KILLED = """
import os, signal

def test_killed(livechat_api):
    livechat_api.post("agent/action/start_chat", json={})
    os.kill(os.getpid(), signal.SIGKILL)
"""
