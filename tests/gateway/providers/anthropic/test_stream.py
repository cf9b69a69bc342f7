"""Anthropic SSE events -> chat.completion.chunk dicts, accumulated by the openai SDK."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from gateway.providers import Target
from gateway.providers.anthropic import AnthropicProvider
from tests.gateway.providers.anthropic.conftest import CREATED
from tests.gateway.providers.anthropic.helpers import collect, user
from tests.support.fake_anthropic import FakeAnthropic, Reply, Text, ToolUse

BODY: dict[str, Any] = {"model": "alias", "messages": [user("hi")], "stream": True}


def accumulate(chunks: list[dict[str, Any]]) -> ChatCompletion:
    """What an openai SDK client ends up with after reading these chunks."""
    state: ChatCompletionStreamState[None] = ChatCompletionStreamState()
    for chunk in chunks:
        state.handle_chunk(ChatCompletionChunk.model_validate(chunk))
    return state.get_final_completion()


async def test_text_stream(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic
) -> None:
    fake.enqueue(Reply(content=(Text("Hello there, streaming world."),), delta_chars=5))

    chunks = await collect(provider, target, dict(BODY))

    assert fake.last.json["stream"] is True
    assert fake.last.headers["accept"] == "text/event-stream"
    first = chunks[0]
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert {c["id"] for c in chunks} == {"chatcmpl-msg_fake01"}
    assert {(c["object"], c["created"], c["model"]) for c in chunks} == {
        ("chat.completion.chunk", CREATED, "claude-fake-1")
    }
    texts = [c["choices"][0]["delta"].get("content") for c in chunks[1:-1]]
    assert texts == ["Hello", " ther", "e, st", "reami", "ng wo", "rld."]
    assert chunks[-1]["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "stop",
    }
    assert all("usage" not in c for c in chunks)
    assert accumulate(chunks).choices[0].message.content == "Hello there, streaming world."


async def test_usage_chunk_when_asked(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic
) -> None:
    fake.enqueue(Reply(input_tokens=21, output_tokens=9, cache_read_input_tokens=5))
    body = dict(BODY, stream_options={"include_usage": True})

    chunks = await collect(provider, target, body)

    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    last = chunks[-1]
    assert last["choices"] == []
    assert last["usage"] == {
        "prompt_tokens": 26,
        "completion_tokens": 9,
        "total_tokens": 35,
        "prompt_tokens_details": {"cached_tokens": 5, "cache_creation_tokens": 0},
    }
    ChatCompletionChunk.model_validate(last)


async def test_streamed_tool_calls(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic
) -> None:
    weather = {"city": "Paris", "days": [1, 2, 3], "note": 'naïve "quoted"'}
    fake.enqueue(
        Reply(
            content=(
                Text("Checking."),
                ToolUse("toolu_a", "get_weather", weather),
                ToolUse("toolu_b", "now", {}),
            ),
            stop_reason="tool_use",
            delta_chars=6,
        )
    )

    chunks = await collect(provider, target, dict(BODY))

    deltas = [c["choices"][0]["delta"] for c in chunks]
    calls = [d["tool_calls"][0] for d in deltas if "tool_calls" in d]
    assert calls[0] == {
        "index": 0,
        "id": "toolu_a",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    fragments = [c for c in calls if c["index"] == 0][1:]
    assert len(fragments) > 3
    assert all(set(c) == {"index", "function"} for c in fragments)
    assert json.loads("".join(c["function"]["arguments"] for c in fragments)) == weather
    assert [c for c in calls if c["index"] == 1] == [
        {
            "index": 1,
            "id": "toolu_b",
            "type": "function",
            "function": {"name": "now", "arguments": ""},
        },
        {"index": 1, "function": {"arguments": "{}"}},
    ]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"

    message = accumulate(chunks).choices[0].message
    assert message.content == "Checking."
    tool_calls = message.tool_calls or []
    assert [(c.id, c.function.name) for c in tool_calls] == [  # type: ignore[union-attr]
        ("toolu_a", "get_weather"),
        ("toolu_b", "now"),
    ]
    assert json.loads(tool_calls[1].function.arguments) == {}  # type: ignore[union-attr]


async def test_closing_the_iterator_closes_the_upstream_connection(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic
) -> None:
    fake.enqueue(Reply(content=(Text("x" * 400),), delta_chars=1, event_delay_s=0.02))
    stream = provider.stream_chat(target, dict(BODY))

    received = [await anext(stream), await anext(stream), await anext(stream)]
    await stream.aclose()

    assert received[2]["choices"][0]["delta"] == {"content": "x"}
    assert await asyncio.to_thread(fake.last.client_closed.wait, 5)
    assert not fake.last.stream_completed


async def test_cancelling_the_consumer_closes_the_upstream_connection(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic
) -> None:
    fake.enqueue(Reply(content=(Text("y" * 400),), delta_chars=1, event_delay_s=0.02))
    got_one = asyncio.Event()

    async def consume() -> None:
        async for _ in provider.stream_chat(target, dict(BODY)):
            got_one.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_one.wait(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    assert task.cancelled()
    assert await asyncio.to_thread(fake.last.client_closed.wait, 5)
    assert not fake.last.stream_completed
