"""Chat's tool checks on ``/v1/messages``, answered in Anthropic's shape.

A tool the key may not use is a 403 (``permission_error``) before any upstream call; a model's
call whose input fails the tool's ``input_schema`` is blocked as chat blocks it (a 502: the
upstream's output is bad), an ``error`` event once a stream has begun; every decision is
audited. ``claude`` is a deployment on the fake Anthropic API (told which tool call to make),
``chat-translate`` one on the fake OpenAI server (it calls the first tool with
``{"q": <last user text>}``).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import anthropic
import psycopg
import pytest
from anthropic.types import Message

from tests.support.fake_anthropic import FakeAnthropic, Reply, ToolUse
from tests.support.fake_openai import FakeOpenAI
from tests.support.keys import insert_key

MODELS = ["claude", "chat-translate"]
WEATHER: Any = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {
        "type": "object",
        "properties": {"q": {"type": "string"}},
        "required": ["q"],
    },
}
# ``q`` must be a number: the fake OpenAI calls with a string, the fake Anthropic is told to
NUMERIC: Any = {
    **WEATHER,
    "input_schema": {**WEATHER["input_schema"], "properties": {"q": {"type": "integer"}}},
}


@pytest.fixture
def claude(api_url: str, api_key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=api_url, api_key=api_key, max_retries=0, timeout=20)


def _request(model: str, tool: dict[str, Any], request_id: str) -> dict[str, Any]:
    return {
        "model": model,
        "max_tokens": 100,
        "tools": [tool],
        "messages": [{"role": "user", "content": "Oslo"}],
        "extra_headers": {"X-Request-ID": request_id},
    }


def _request_id() -> str:
    return f"msg-tools-{secrets.token_hex(6)}"


def _audited(database_url: str, request_id: str) -> list[tuple[str, ...]]:
    """(subject, decision, stage, reason) of the request's tool audit rows, once written."""
    deadline = time.monotonic() + 10
    while True:
        with psycopg.connect(database_url) as conn:
            rows = conn.execute(
                "SELECT subject, decision, stage, reason FROM audit_events "
                "WHERE request_id = %s AND kind = 'tool' ORDER BY stage, subject",
                (request_id,),
            ).fetchall()
        if rows or time.monotonic() > deadline:
            return [tuple(str(value) for value in row) for row in rows]
        time.sleep(0.05)


def _ask(client: anthropic.Anthropic, request: dict[str, Any], *, stream: bool) -> Message:
    if not stream:
        message: Message = client.messages.create(**request)
        return message
    with client.messages.stream(**request) as events:
        return events.get_final_message()


def _event_types(client: anthropic.Anthropic, request: dict[str, Any], kinds: list[str]) -> None:
    """Read a stream to its end (or its ``error`` event), noting each event's type."""
    with client.messages.stream(**request) as stream:
        kinds.extend(event.type for event in stream)


def _upstream_calls(fake_a: FakeOpenAI, fake_anthropic: FakeAnthropic) -> tuple[int, int]:
    return len(fake_a.requests), len(fake_anthropic.requests)


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
@pytest.mark.parametrize("model", MODELS)
def test_a_tool_the_key_may_not_use_is_a_403_before_any_upstream_call(
    api_url: str,
    database_url: str,
    fake_a: FakeOpenAI,
    fake_anthropic: FakeAnthropic,
    model: str,
    stream: bool,
) -> None:
    key = insert_key(database_url, allowed_tools=["search_*"])
    client = anthropic.Anthropic(base_url=api_url, api_key=key, max_retries=0, timeout=20)
    request_id = _request_id()
    before = _upstream_calls(fake_a, fake_anthropic)
    with pytest.raises(anthropic.PermissionDeniedError) as caught:
        _ask(client, _request(model, WEATHER, request_id), stream=stream)
    body: Any = caught.value.body
    assert body["type"] == "error"
    assert body["error"]["type"] == "permission_error"
    assert "get_weather" in body["error"]["message"]
    assert _upstream_calls(fake_a, fake_anthropic) == before
    # as chat records it: one rejection per forbidden tool offered, under the tool's name
    ((subject, decision, stage, reason),) = _audited(database_url, request_id)
    assert (subject, decision, stage) == ("get_weather", "rejected", "request")
    assert "get_weather" in reason


def _call_with_a_string_where_a_number_is_due(model: str, fake_anthropic: FakeAnthropic) -> None:
    if model == "claude":  # the fake OpenAI's call ("Oslo") already fails NUMERIC
        use = ToolUse("toolu_3", "get_weather", {"q": "Oslo"})
        fake_anthropic.enqueue(Reply(content=(use,), stop_reason="tool_use"))


@pytest.mark.parametrize("model", MODELS)
def test_a_call_that_fails_the_input_schema_is_blocked_as_chat_blocks_it(
    claude: anthropic.Anthropic, database_url: str, fake_anthropic: FakeAnthropic, model: str
) -> None:
    _call_with_a_string_where_a_number_is_due(model, fake_anthropic)
    request_id = _request_id()
    with pytest.raises(anthropic.InternalServerError) as caught:
        claude.messages.create(**_request(model, NUMERIC, request_id))
    assert caught.value.status_code == 502  # chat's status: the upstream's output is bad
    body: Any = caught.value.body
    assert body["type"] == "error"
    assert body["error"]["type"] == "api_error"
    assert "get_weather" in body["error"]["message"]
    assert "schema" in body["error"]["message"]
    ((subject, decision, stage, reason),) = _audited(database_url, request_id)
    assert (subject, decision, stage) == ("get_weather", "blocked", "response")
    assert reason.startswith("schema")


@pytest.mark.parametrize("model", MODELS)
def test_a_streamed_call_that_fails_the_input_schema_ends_in_an_error_event(
    claude: anthropic.Anthropic, database_url: str, fake_anthropic: FakeAnthropic, model: str
) -> None:
    _call_with_a_string_where_a_number_is_due(model, fake_anthropic)
    request_id = _request_id()
    kinds: list[str] = []
    with pytest.raises(anthropic.APIStatusError) as caught:
        _event_types(claude, _request(model, NUMERIC, request_id), kinds)
    assert kinds[0] == "message_start"
    assert "message_stop" not in kinds
    body: Any = caught.value.body
    assert body["type"] == "error"
    assert body["error"]["type"] == "api_error"
    assert "get_weather" in body["error"]["message"]
    ((subject, decision, stage, reason),) = _audited(database_url, request_id)
    assert (subject, decision, stage) == ("get_weather", "blocked", "response")
    assert reason.startswith("schema")


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
@pytest.mark.parametrize("model", MODELS)
def test_allowed_tool_decisions_are_audited(
    claude: anthropic.Anthropic,
    database_url: str,
    fake_anthropic: FakeAnthropic,
    model: str,
    stream: bool,
) -> None:
    if model == "claude":
        use = ToolUse("toolu_4", "get_weather", {"q": "Oslo"})
        fake_anthropic.enqueue(Reply(content=(use,), stop_reason="tool_use"))
    request_id = _request_id()
    message = _ask(claude, _request(model, WEATHER, request_id), stream=stream)
    assert message.stop_reason == "tool_use"
    # offering a tool the key may use is not recorded; the model's call is
    assert _audited(database_url, request_id) == [("get_weather", "allowed", "response", "ok")]
