"""The official openai client -> the gateway -> an Anthropic deployment (fake Anthropic server).

Covers what only the Anthropic translation can break end to end: tool calls (plain and
streamed), a tool-result round trip, and Anthropic's errors as the SDK's exception classes.
"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from openai.types.chat import (
    ChatCompletionFunctionToolParam,
    ChatCompletionMessageFunctionToolCall,
    ChatCompletionMessageFunctionToolCallParam,
    ChatCompletionMessageParam,
)

from tests.support.fake_anthropic import ErrorReply, FakeAnthropic, Reply, Text, ToolUse

WEATHER: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
        },
    },
}
ASK: list[ChatCompletionMessageParam] = [
    {"role": "user", "content": "Weather in Paris for 3 days?"}
]
CALL_INPUT = {"city": "Paris", "days": 3}


@pytest.fixture
def anthropic(fake_anthropic: FakeAnthropic) -> FakeAnthropic:
    fake_anthropic.reset()
    return fake_anthropic


def tool_reply(**extra: Any) -> Reply:
    return Reply(
        content=(Text("Let me look."), ToolUse("toolu_01", "get_weather", CALL_INPUT)),
        stop_reason="tool_use",
        input_tokens=40,
        output_tokens=12,
        **extra,
    )


def test_tool_call(client: openai.OpenAI, anthropic: FakeAnthropic) -> None:
    anthropic.enqueue(tool_reply())

    completion = client.chat.completions.create(
        model="claude",
        messages=ASK,
        tools=[WEATHER],
        tool_choice="required",
        parallel_tool_calls=False,
        max_completion_tokens=300,
    )

    sent = anthropic.last.json
    assert sent["model"] == "claude-test"
    assert sent["tools"][0]["input_schema"] == WEATHER["function"]["parameters"]
    assert sent["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert sent["max_tokens"] == 300
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Let me look."
    [call] = choice.message.tool_calls or []
    assert isinstance(call, ChatCompletionMessageFunctionToolCall)
    assert call.id == "toolu_01"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == CALL_INPUT
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (40, 12)


def test_streamed_tool_call(client: openai.OpenAI, anthropic: FakeAnthropic) -> None:
    anthropic.enqueue(tool_reply(delta_chars=3))

    chunks = list(
        client.chat.completions.create(
            model="claude",
            messages=ASK,
            tools=[WEATHER],
            stream=True,
            stream_options={"include_usage": True},
        )
    )

    assert anthropic.last.json["stream"] is True
    assert chunks[0].choices[0].delta.role == "assistant"
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    text = "".join(d.content or "" for d in deltas)
    calls = [call for d in deltas for call in d.tool_calls or []]
    assert text == "Let me look."
    functions = [c.function for c in calls if c.function is not None]
    assert (calls[0].index, calls[0].id, functions[0].name) == (0, "toolu_01", "get_weather")
    # The adapter streams the arguments piece by piece (tests/gateway/providers/anthropic/
    # test_stream.py); the gateway's tool check holds them until the call is complete and
    # valid, so the client gets them whole, with the call's name and id.
    fragments = [f.arguments or "" for f in functions]
    assert json.loads("".join(fragments)) == CALL_INPUT
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 52


def test_stream_helper_assembles_the_tool_call(
    client: openai.OpenAI, anthropic: FakeAnthropic
) -> None:
    anthropic.enqueue(tool_reply(delta_chars=2))

    with client.chat.completions.stream(
        model="claude",
        messages=ASK,
        tools=[WEATHER],
    ) as stream:
        final = stream.get_final_completion()

    [call] = final.choices[0].message.tool_calls or []
    assert isinstance(call, ChatCompletionMessageFunctionToolCall)
    assert json.loads(call.function.arguments) == CALL_INPUT
    assert final.choices[0].finish_reason == "tool_calls"


async def test_tool_result_round_trip_streamed_async(
    aclient: openai.AsyncOpenAI, anthropic: FakeAnthropic
) -> None:
    calls: list[ChatCompletionMessageFunctionToolCallParam] = [
        {
            "id": "toolu_01",
            "type": "function",
            "function": {"name": "get_weather", "arguments": json.dumps(CALL_INPUT)},
        }
    ]
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": "Be brief."},
        *ASK,
        {"role": "assistant", "content": None, "tool_calls": calls},
        {"role": "tool", "tool_call_id": "toolu_01", "content": "sunny, 21C"},
        {"role": "user", "content": "so, jacket?"},
    ]

    stream = await aclient.chat.completions.create(
        model="claude",
        messages=messages,
        tools=[WEATHER],
        stream=True,
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

    assert text == "echo: so, jacket?"
    sent = anthropic.last.json
    assert sent["system"] == [{"type": "text", "text": "Be brief."}]
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
    assert sent["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_01", "content": "sunny, 21C"},
        {"type": "text", "text": "so, jacket?"},
    ]


def test_invalid_tool_call_arguments_are_a_bad_request(
    client: openai.OpenAI, anthropic: FakeAnthropic
) -> None:
    call: ChatCompletionMessageFunctionToolCallParam = {
        "id": "t",
        "type": "function",
        "function": {"name": "f", "arguments": "{oops"},
    }
    messages: list[ChatCompletionMessageParam] = [*ASK, {"role": "assistant", "tool_calls": [call]}]

    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="claude", messages=messages)

    assert caught.value.param == "messages[1].tool_calls[0].function.arguments"
    assert anthropic.requests == []


def test_anthropic_rejection_is_a_bad_request_with_its_message(
    client: openai.OpenAI, anthropic: FakeAnthropic
) -> None:
    anthropic.enqueue(ErrorReply(400, "invalid_request_error", "prompt is too long: 250000"))

    with pytest.raises(openai.BadRequestError, match="prompt is too long: 250000"):
        client.chat.completions.create(model="claude", messages=ASK)


def test_error_event_mid_stream_reaches_the_client_after_content(
    client: openai.OpenAI, anthropic: FakeAnthropic
) -> None:
    anthropic.enqueue(Reply(content=(Text("abcdefgh"),), delta_chars=2, error_after_events=5))
    received: list[str] = []

    with pytest.raises(openai.APIError, match="overloaded"):  # noqa: PT012 - fails mid-iteration
        for chunk in client.chat.completions.create(
            model="claude",
            messages=ASK,
            stream=True,
        ):
            received.extend(c.delta.content or "" for c in chunk.choices)

    assert "".join(received) == "abcd"
