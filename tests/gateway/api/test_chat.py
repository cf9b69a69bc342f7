"""``/v1/chat/completions`` through the gateway with the official SDK (sync and async)."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from tests.gateway.api.conftest import UPSTREAM_KEY
from tests.support.fake_openai import FakeOpenAI


def test_chat_answers_and_forwards_the_body(client: openai.OpenAI, fake_a: FakeOpenAI) -> None:
    before = len(fake_a.requests)
    completion = client.chat.completions.create(
        model="chat",
        messages=[
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hello there"},
        ],
        seed=7,
        stop=["\n"],
        n=2,
        logprobs=True,
        response_format={"type": "json_object"},
        extra_body={"repetition_penalty": 1.1, "top_k": 5},  # unknown to us: passed through
    )
    assert completion.choices[0].message.content == "echo: hello there"
    assert len(completion.choices) == 2
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 2
    received = fake_a.requests[before]
    assert received.path == "/v1/chat/completions"
    assert received.headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert received.body["model"] == "gpt-test"  # the alias became the upstream model
    assert received.body["repetition_penalty"] == 1.1
    assert received.body["top_k"] == 5
    assert received.body["seed"] == 7
    assert received.body["stop"] == ["\n"]
    assert received.body["response_format"] == {"type": "json_object"}


def test_tools_and_content_parts(client: openai.OpenAI, fake_a: FakeOpenAI) -> None:
    before = len(fake_a.requests)
    messages: Any = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "find cats"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            ],
        }
    ]
    tools: Any = [
        {
            "type": "function",
            "function": {
                "name": "search",
                "description": "search the docs",
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
            },
        }
    ]
    completion = client.chat.completions.create(
        model="chat",
        messages=messages,
        tools=tools,
        tool_choice="auto",
        parallel_tool_calls=False,
    )
    calls: Any = completion.choices[0].message.tool_calls
    assert calls is not None
    assert calls[0].function.name == "search"
    assert json.loads(calls[0].function.arguments) == {"q": "find cats"}
    assert completion.choices[0].finish_reason == "tool_calls"
    sent = fake_a.requests[before].body
    assert sent["tools"] == tools
    assert sent["parallel_tool_calls"] is False
    assert sent["messages"][0]["content"][1]["type"] == "image_url"


def test_stream_ends_with_done_and_hides_usage_unless_asked(
    client: openai.OpenAI, fake_a: FakeOpenAI
) -> None:
    before = len(fake_a.requests)
    stream = client.chat.completions.create(
        model="chat", messages=[{"role": "user", "content": "one two three"}], stream=True
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: one two three "
    assert all(c.usage is None for c in chunks)  # the client did not ask for usage
    # ... but the gateway asked the upstream for it (quotas, metrics, the access log)
    assert fake_a.requests[before].body["stream_options"] == {"include_usage": True}


def test_stream_with_include_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="chat",
        messages=[{"role": "user", "content": "one two"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[-1].choices == []
    usage = chunks[-1].usage
    assert usage is not None
    assert usage.prompt_tokens == 2


async def test_async_client_plain_and_stream(aclient: openai.AsyncOpenAI) -> None:
    completion = await aclient.chat.completions.create(
        model="chat", messages=[{"role": "user", "content": "async"}]
    )
    assert completion.choices[0].message.content == "echo: async"
    stream = await aclient.chat.completions.create(
        model="chat", messages=[{"role": "user", "content": "a b"}], stream=True
    )
    pieces = [c.choices[0].delta.content async for c in stream if c.choices]
    assert "".join(p or "" for p in pieces) == "echo: a b "


def test_raw_sse_wire_format(client: openai.OpenAI) -> None:
    response = client.chat.completions.with_raw_response.create(
        model="chat", messages=[{"role": "user", "content": "x"}], stream=True
    )
    raw = response.http_response.read().decode()
    events = [line for line in raw.split("\n\n") if line]
    assert events[-1] == "data: [DONE]"
    assert all(event.startswith("data: ") for event in events)
    assert response.headers["content-type"].startswith("text/event-stream")
    assert float(response.headers["x-ragway-overhead-ms"]) >= 0


def test_request_id_is_echoed_or_generated(client: openai.OpenAI) -> None:
    given = client.chat.completions.with_raw_response.create(
        model="chat",
        messages=[{"role": "user", "content": "x"}],
        extra_headers={"X-Request-ID": "my-trace-123"},
    )
    assert given.headers["x-request-id"] == "my-trace-123"
    made = client.chat.completions.with_raw_response.create(
        model="chat", messages=[{"role": "user", "content": "x"}]
    )
    assert made.headers["x-request-id"].startswith("req_")
    assert float(made.headers["x-ragway-overhead-ms"]) < 1000


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_deployment_through_the_gateway(client: openai.OpenAI, stream: bool) -> None:
    if stream:
        chunks = list(
            client.chat.completions.create(
                model="claude", messages=[{"role": "user", "content": "hi claude"}], stream=True
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        completion = client.chat.completions.create(
            model="claude", messages=[{"role": "user", "content": "hi claude"}]
        )
        text = completion.choices[0].message.content or ""
    assert "hi claude" in text
