"""PII in every place a ``/v1/messages`` request can carry text never reaches an upstream.

The request is translated to chat before the policy hooks, so chat's masking applies: the
upstream sees ``<EMAIL_ADDRESS_1>``-style placeholders and the client gets its values back,
in text and in a ``tool_use`` input, answered whole and streamed. ``claude`` is a deployment
on the fake Anthropic API (it echoes the last user text), ``chat-translate`` one on the fake
OpenAI server (it echoes the last user text or a tool result, or calls the first tool with
``{"q": <last user text>}``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anthropic
import pytest

from tests.support.fake_anthropic import FakeAnthropic, Reply, ToolUse
from tests.support.fake_openai import FakeOpenAI
from tests.support.pii_wire import PII, assert_masked, assert_restored

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
ASK: dict[str, Any] = {"role": "user", "content": f"repeat {PII}"}


def _parts() -> list[dict[str, str]]:
    return [{"type": "text", "text": "about"}, {"type": "text", "text": PII}]


def _tool_turns(result: Any, arguments: str = "weather please") -> list[dict[str, Any]]:
    """A user turn, the model's ``tool_use`` (``{"q": arguments}``) and its ``tool_result``."""
    return [
        {"role": "user", "content": "weather please"},
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "toolu_7",
                    "name": "get_weather",
                    "input": {"q": arguments},
                }
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_7", "content": result}],
        },
    ]


# Each case: the request's fields with PII in one position (and, where that position is not
# what the fakes echo, PII in the last user message too, so the answer shows the restore).
CASES: dict[str, dict[str, Any]] = {
    "system-string": {"system": f"the caller is {PII}", "messages": [ASK]},
    "system-text": {"system": _parts(), "messages": [ASK]},
    "user-string": {"messages": [ASK]},
    "user-text": {"messages": [{"role": "user", "content": _parts()}]},
    "assistant-string": {
        "messages": [
            {"role": "user", "content": "who am I"},
            {"role": "assistant", "content": f"known: {PII}"},
            ASK,
        ]
    },
    "assistant-text": {
        "messages": [
            {"role": "user", "content": "who am I"},
            {"role": "assistant", "content": _parts()},
            ASK,
        ]
    },
    "tool_use-input": {
        "messages": _tool_turns("sunny", arguments=f"weather for {PII}"),
        "tools": [WEATHER],
    },
    "tool_result-string": {"messages": _tool_turns(f"sunny at {PII}"), "tools": [WEATHER]},
    "tool_result-text": {"messages": _tool_turns(_parts()), "tools": [WEATHER]},
    "tool-description": {
        "messages": [ASK],
        "tools": [{**WEATHER, "description": f"the weather, for {PII} only"}],
    },
}
# Where a fake's answer carries no PII there is nothing to restore: after a tool result the
# fake Anthropic echoes the (absent) user text, the fake OpenAI the result.
NO_ECHO = {
    "claude": {"tool_use-input", "tool_result-string", "tool_result-text"},
    "chat-translate": {"tool_use-input"},
}


@pytest.fixture
def claude(api_url: str, api_key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=api_url, api_key=api_key, max_retries=0, timeout=20)


Sent = Callable[[], list[str]]


@pytest.fixture
def sent_since(fake_a: FakeOpenAI, fake_anthropic: FakeAnthropic) -> Callable[[str], Sent]:
    """``sent_since(model)()``: the upstream bodies (JSON strings) ``model`` got since the call."""

    def mark(model: str) -> Sent:
        before = len(fake_anthropic.requests), len(fake_a.requests)

        def sent() -> list[str]:
            if model == "claude":
                bodies = [r.json for r in fake_anthropic.requests[before[0] :]]
            else:
                bodies = [r.body for r in fake_a.requests[before[1] :]]
            assert bodies, "the upstream was not called"
            return [json.dumps(body) for body in bodies]

        return sent

    return mark


def _answer(message: anthropic.types.Message) -> str:
    """The message's text blocks and ``tool_use`` inputs, as one string."""
    pieces = [
        block.text if block.type == "text" else json.dumps(block.input)
        for block in message.content
        if block.type in ("text", "tool_use")
    ]
    assert pieces, message
    return " ".join(pieces)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("model", MODELS)
def test_create_masks_every_position_and_restores_the_answer(
    claude: anthropic.Anthropic, sent_since: Callable[[str], Sent], model: str, case: str
) -> None:
    sent = sent_since(model)
    message = claude.messages.create(model=model, max_tokens=100, **CASES[case])
    assert_masked(sent())
    if case not in NO_ECHO[model]:
        assert_restored(_answer(message))


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("model", MODELS)
def test_stream_masks_every_position_and_restores_the_deltas(
    claude: anthropic.Anthropic, sent_since: Callable[[str], Sent], model: str, case: str
) -> None:
    sent = sent_since(model)
    deltas: list[str] = []
    with claude.messages.stream(model=model, max_tokens=100, **CASES[case]) as stream:
        for event in stream:
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                deltas.append(event.delta.text)
            elif event.type == "content_block_delta" and event.delta.type == "input_json_delta":
                deltas.append(event.delta.partial_json)
        final = stream.get_final_message()
    assert_masked(sent())
    if case not in NO_ECHO[model]:
        assert_restored("".join(deltas))
        assert_restored(_answer(final))


def _created(client: anthropic.Anthropic, request: dict[str, Any]) -> anthropic.types.Message:
    message: anthropic.types.Message = client.messages.create(**request)
    return message


def _streamed(client: anthropic.Anthropic, request: dict[str, Any]) -> anthropic.types.Message:
    partial: list[str] = []
    with client.messages.stream(**request) as stream:
        for event in stream:
            if event.type == "content_block_delta" and event.delta.type == "input_json_delta":
                partial.append(event.delta.partial_json)
        final = stream.get_final_message()
    assert json.loads("".join(partial)) == {"q": f"weather for {PII}"}
    return final


Ask = Callable[[anthropic.Anthropic, dict[str, Any]], anthropic.types.Message]


@pytest.mark.parametrize("ask", [_created, _streamed], ids=["create", "stream"])
@pytest.mark.parametrize("model", MODELS)
def test_tool_use_input_with_placeholders_comes_back_restored(
    claude: anthropic.Anthropic,
    sent_since: Callable[[str], Sent],
    fake_anthropic: FakeAnthropic,
    model: str,
    ask: Ask,
) -> None:
    if model == "claude":  # the fake Anthropic calls no tool unless told to: call it masked
        masked = {"q": "weather for <EMAIL_ADDRESS_1> <PHONE_NUMBER_1>"}
        call = ToolUse("toolu_9", "get_weather", masked)
        fake_anthropic.enqueue(Reply(content=(call,), stop_reason="tool_use"))
    sent = sent_since(model)
    message = ask(
        claude,
        {
            "model": model,
            "max_tokens": 100,
            "tools": [WEATHER],
            "messages": [{"role": "user", "content": f"weather for {PII}"}],
        },
    )
    bodies = sent()
    assert_masked(bodies)
    assert "weather for <EMAIL_ADDRESS_1> <PHONE_NUMBER_1>" in bodies[-1]
    assert message.stop_reason == "tool_use"
    (use,) = [block for block in message.content if block.type == "tool_use"]
    assert use.input == {"q": f"weather for {PII}"}
