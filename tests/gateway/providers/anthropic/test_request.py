"""OpenAI request -> Anthropic request, asserted on what the fake Anthropic server received."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from gateway.platform.errors import InvalidRequestError
from gateway.providers import Target
from gateway.providers.anthropic import AnthropicProvider
from tests.gateway.providers.anthropic.conftest import DEFAULT_MAX_TOKENS
from tests.gateway.providers.anthropic.helpers import user
from tests.support.fake_anthropic import API_KEY, FakeAnthropic

PNG_B64 = (  # a 1x1 PNG
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
    "AAAABJRU5ErkJggg=="
)
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


async def sent(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic, **body: Any
) -> dict[str, Any]:
    """Send an OpenAI body through the adapter; return the JSON the upstream received."""
    await provider.chat(target, body)
    received: dict[str, Any] = fake.last.json
    return received


async def test_headers_model_and_default_max_tokens(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic
) -> None:
    received = await sent(provider, target, fake, model="claude-fake-1", messages=[user("hi")])

    assert received == {
        "model": "claude-fake-1",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "max_tokens": DEFAULT_MAX_TOKENS,
    }
    request = fake.last
    assert (request.method, request.path) == ("POST", "/v1/messages")
    assert request.headers["x-api-key"] == API_KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.headers["content-type"] == "application/json"
    assert "authorization" not in request.headers


async def test_target_version_headers_and_v1_base_url(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic
) -> None:
    custom = dataclasses.replace(
        target,
        base_url=f"{fake.base_url}/v1/",
        api_version="2024-10-22",
        headers={"anthropic-beta": "prompt-caching-2024-07-31"},
    )
    await provider.chat(custom, {"model": "m", "messages": [user("hi")]})

    assert fake.last.path == "/v1/messages"
    assert fake.last.headers["anthropic-version"] == "2024-10-22"
    assert fake.last.headers["anthropic-beta"] == "prompt-caching-2024-07-31"


async def test_system_and_developer_messages_become_top_level_system(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic
) -> None:
    received = await sent(
        provider,
        target,
        fake,
        model="m",
        messages=[
            {"role": "system", "content": "You are terse."},
            {
                "role": "system",
                "content": [
                    {"type": "text", "text": "Rule one."},
                    {"type": "text", "text": "Two."},
                ],
            },
            user("hi"),
            {"role": "developer", "content": "Answer in French."},
            {"role": "assistant", "content": "Salut."},
            user("again"),
        ],
    )

    assert received["system"] == [
        {"type": "text", "text": "You are terse."},
        {"type": "text", "text": "Rule one."},
        {"type": "text", "text": "Two."},
        {"type": "text", "text": "Answer in French."},
    ]
    assert [m["role"] for m in received["messages"]] == ["user", "assistant", "user"]


async def test_consecutive_same_role_messages_are_merged(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic
) -> None:
    received = await sent(
        provider,
        target,
        fake,
        model="m",
        messages=[
            user("one"),
            user("two"),
            {"role": "assistant", "content": "three"},
            {"role": "assistant", "content": [{"type": "text", "text": "four"}]},
            {"role": "assistant", "content": None},
            user("five"),
        ],
    )

    assert received["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}],
        },
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "three"}, {"type": "text", "text": "four"}],
        },
        {"role": "user", "content": [{"type": "text", "text": "five"}]},
    ]


async def test_image_parts_become_base64_and_url_sources(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic
) -> None:
    content = [
        {"type": "text", "text": "Compare these."},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg", "detail": "low"}},
    ]
    received = await sent(
        provider, target, fake, model="m", messages=[{"role": "user", "content": content}]
    )

    assert received["messages"][0]["content"] == [
        {"type": "text", "text": "Compare these."},
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64},
        },
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
    ]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("data:image/bmp;base64,AAAA", "media type 'image/bmp' is not supported"),
        ("data:image/png,rawbytes", "must be a base64 data URL"),
        ("ftp://example.com/cat.png", "must be an http(s) URL or a base64 data URL"),
    ],
)
async def test_unusable_images_are_rejected_before_any_upstream_call(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic, url: str, message: str
) -> None:
    part = {"type": "image_url", "image_url": {"url": url}}
    with pytest.raises(InvalidRequestError, match=re.escape(message)) as caught:
        await provider.chat(
            target, {"model": "m", "messages": [{"role": "user", "content": [part]}]}
        )

    assert caught.value.param == "messages[0].content[0].image_url.url"
    assert caught.value.status_code == 400
    assert fake.requests == []


async def test_tool_calls_and_tool_results_round_trip(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic
) -> None:
    calls = [
        {
            "id": "toolu_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        },
        {"id": "toolu_2", "type": "function", "function": {"name": "now", "arguments": ""}},
    ]
    received = await sent(
        provider,
        target,
        fake,
        model="m",
        tools=[WEATHER_TOOL, {"type": "function", "function": {"name": "now"}}],
        messages=[
            user("Weather in Paris, and the time?"),
            {"role": "assistant", "content": "Checking.", "tool_calls": calls},
            {"role": "tool", "tool_call_id": "toolu_1", "content": "18C, sunny"},
            {
                "role": "tool",
                "tool_call_id": "toolu_2",
                "content": [{"type": "text", "text": "12:00"}],
            },
            user("Thanks, summarise."),
        ],
    )

    assert received["messages"][1] == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Checking."},
            {
                "type": "tool_use",
                "id": "toolu_1",
                "name": "get_weather",
                "input": {"city": "Paris"},
            },
            {"type": "tool_use", "id": "toolu_2", "name": "now", "input": {}},
        ],
    }
    assert received["messages"][2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C, sunny"},
            {
                "type": "tool_result",
                "tool_use_id": "toolu_2",
                "content": [{"type": "text", "text": "12:00"}],
            },
            {"type": "text", "text": "Thanks, summarise."},
        ],
    }
    assert received["tools"] == [
        {
            "name": "get_weather",
            "description": "Weather for a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
        {"name": "now", "input_schema": {"type": "object", "properties": {}}},
    ]


@pytest.mark.parametrize("arguments", ['{"city": "Par', "[1, 2]"])
async def test_tool_call_arguments_that_are_not_a_json_object_are_a_400(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic, arguments: str
) -> None:
    call = {"id": "t1", "type": "function", "function": {"name": "f", "arguments": arguments}}
    messages = [user("hi"), {"role": "assistant", "tool_calls": [call]}]
    with pytest.raises(InvalidRequestError) as caught:
        await provider.chat(target, {"model": "m", "messages": messages})

    assert caught.value.param == "messages[1].tool_calls[0].function.arguments"
    assert fake.requests == []


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        (None, None, None),
        ("auto", None, {"type": "auto"}),
        ("none", None, {"type": "none"}),
        ("required", None, {"type": "any"}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            None,
            {"type": "tool", "name": "get_weather"},
        ),
        (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
        ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
        ("none", False, {"type": "none"}),
        ("auto", True, {"type": "auto"}),
    ],
)
async def test_tool_choice_and_parallel_tool_calls(
    provider: AnthropicProvider,
    target: Target,
    fake: FakeAnthropic,
    choice: Any,
    parallel: bool | None,
    expected: dict[str, Any] | None,
) -> None:
    body: dict[str, Any] = {"model": "m", "messages": [user("hi")], "tools": [WEATHER_TOOL]}
    if choice is not None:
        body["tool_choice"] = choice
    if parallel is not None:
        body["parallel_tool_calls"] = parallel
    received = await sent(provider, target, fake, **body)

    assert received.get("tool_choice") == expected


async def test_sampling_stop_user_and_max_completion_tokens(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic
) -> None:
    received = await sent(
        provider,
        target,
        fake,
        model="m",
        messages=[user("hi")],
        max_tokens=50,
        max_completion_tokens=77,
        temperature=0.2,
        top_p=0.9,
        stop="END",
        user="user-42",
        seed=7,
        n=1,
        stream=False,
    )

    assert received["max_tokens"] == 77
    assert (received["temperature"], received["top_p"]) == (0.2, 0.9)
    assert received["stop_sequences"] == ["END"]
    assert received["metadata"] == {"user_id": "user-42"}
    assert not {"stream", "seed", "n", "user", "max_completion_tokens"} & set(received)

    received = await sent(
        provider, target, fake, model="m", messages=[user("hi")], max_tokens=9, stop=["a", "b"]
    )
    assert (received["max_tokens"], received["stop_sequences"]) == (9, ["a", "b"])


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("n", 2, "'n' = 2 is not supported"),
        ("logprobs", True, "'logprobs' = True is not supported"),
        ("response_format", {"type": "json_object"}, "'response_format'"),
        ("frequency_penalty", 0.5, "'frequency_penalty'"),
        ("functions", [{"name": "f"}], "'functions'"),
        ("frobnicate", 1, "unknown parameter 'frobnicate'"),
        ("max_tokens", 0, "'max_tokens' must be a positive integer"),
        ("tool_choice", "required", "'tool_choice' requires 'tools'"),
    ],
)
async def test_what_anthropic_cannot_do_is_a_400_naming_the_field(
    provider: AnthropicProvider,
    target: Target,
    fake: FakeAnthropic,
    field: str,
    value: Any,
    message: str,
) -> None:
    with pytest.raises(InvalidRequestError, match=message) as caught:
        await provider.chat(target, {"model": "m", "messages": [user("hi")], field: value})

    assert caught.value.param == field
    assert fake.requests == []


@pytest.mark.parametrize(
    ("messages", "param"),
    [
        ([], "messages"),
        ([{"role": "user", "content": ""}], "messages[0].content"),
        ([{"role": "critic", "content": "x"}], "messages[0]"),
        ([{"role": "tool", "content": "x"}], "messages[0].tool_call_id"),
        ([{"role": "user", "content": [{"type": "input_audio"}]}], "messages[0].content[0].type"),
        (
            [{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}],
            "messages[0].content[0].type",
        ),
    ],
)
async def test_malformed_messages_are_a_400_naming_the_field(
    provider: AnthropicProvider,
    target: Target,
    fake: FakeAnthropic,
    messages: list[Any],
    param: str,
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await provider.chat(target, {"model": "m", "messages": messages})

    assert caught.value.param == param
    assert fake.requests == []
