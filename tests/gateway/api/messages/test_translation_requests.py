"""Anthropic Messages requests translated to chat completions, and the requests refused."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.api.openai.messages._request import chat_request
from gateway.api.openai.messages.protocol import check_request
from gateway.platform.errors import InvalidRequestError

USER = {"role": "user", "content": "hi"}
WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def chat(**fields: Any) -> dict[str, Any]:
    body = {"model": "claude", "max_tokens": 100, "messages": [USER], **fields}
    return chat_request(check_request(body), body)


def refused(**fields: Any) -> InvalidRequestError:
    body = {"model": "claude", "max_tokens": 100, "messages": [USER], **fields}
    with pytest.raises(InvalidRequestError) as caught:
        chat_request(check_request(body), body)
    return caught.value


# -- requests ---------------------------------------------------------------------------


def test_a_cached_system_prompt_and_an_image_become_system_parts_and_image_urls() -> None:
    cache = {"type": "ephemeral"}
    body = chat(
        system=[
            {"type": "text", "text": "You are terse."},
            {"type": "text", "text": "Long context.", "cache_control": cache},
        ],
        messages=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"},
                    },
                    {"type": "image", "source": {"type": "url", "url": "https://x.test/a.jpg"}},
                    {"type": "text", "text": "What is this?", "cache_control": cache},
                    {"type": "document", "source": {"type": "text", "data": "notes"}},
                ],
            }
        ],
        stop_sequences=["\n\nHuman:"],
        temperature=0.2,
        top_p=0.9,
        top_k=40,
        metadata={"user_id": "u-1"},
        stream=True,
    )
    assert body == {
        "model": "claude",
        "messages": [
            {
                "role": "system",
                "content": [
                    {"type": "text", "text": "You are terse."},
                    {"type": "text", "text": "Long context.", "cache_control": cache},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}},
                    {"type": "image_url", "image_url": {"url": "https://x.test/a.jpg"}},
                    {"type": "text", "text": "What is this?", "cache_control": cache},
                    {"type": "text", "text": "notes"},
                ],
            },
        ],
        "max_completion_tokens": 100,
        "stop": ["\n\nHuman:"],
        "temperature": 0.2,
        "top_p": 0.9,
        "top_k": 40,
        "user": "u-1",
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_a_tool_round_trip_becomes_tool_calls_then_tool_messages_first() -> None:
    body = chat(
        system="Use tools.",
        tools=[WEATHER, {**WEATHER, "name": "get_time", "type": "custom"}],
        tool_choice={"type": "auto", "disable_parallel_tool_use": True},
        messages=[
            {"role": "user", "content": "Weather and time in Paris?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "Two tools.", "signature": "sig"},
                    {"type": "redacted_thinking", "data": "xyz"},
                    {"type": "text", "text": "Checking."},
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "get_weather",
                        "input": {"city": "Paris"},
                    },
                    {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Here you go."},
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18°C"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_2",
                        "is_error": True,
                        "content": [
                            {"type": "text", "text": "clock broken"},
                            {
                                "type": "image",
                                "source": {
                                    "type": "base64",
                                    "media_type": "image/gif",
                                    "data": "R0",
                                },
                            },
                        ],
                    },
                ],
            },
        ],
    )
    assert body["messages"] == [
        {"role": "system", "content": "Use tools."},
        {"role": "user", "content": "Weather and time in Paris?"},
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {
                    "id": "toolu_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                },
                {
                    "id": "toolu_2",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": "{}"},
                },
            ],
            "reasoning_content": "Two tools.",
            "reasoning_signature": "sig",
            "redacted_reasoning": ["xyz"],
        },
        {"role": "tool", "tool_call_id": "toolu_1", "content": "18°C"},
        {
            "role": "tool",
            "tool_call_id": "toolu_2",
            "content": [{"type": "text", "text": "clock broken"}],
        },
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": "data:image/gif;base64,R0"}},
                {"type": "text", "text": "Here you go."},
            ],
        },
    ]
    function = {"name": "get_weather", "description": "Weather for a city"}
    assert body["tools"][0] == {
        "type": "function",
        "function": {**function, "parameters": WEATHER["input_schema"]},
    }
    assert body["tool_choice"] == "auto"
    assert body["parallel_tool_calls"] is False


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, "auto"),
        ({"type": "any"}, "required"),
        ({"type": "none"}, "none"),
        (
            {"type": "tool", "name": "get_weather"},
            {"type": "function", "function": {"name": "get_weather"}},
        ),
    ],
)
def test_tool_choice_maps_to_chat(choice: dict[str, Any], expected: Any) -> None:
    body = chat(tools=[WEATHER], tool_choice=choice)
    assert body["tool_choice"] == expected
    assert "parallel_tool_calls" not in body


def test_tool_choice_without_tools() -> None:
    assert "tool_choice" not in chat(tool_choice={"type": "auto"})
    assert "tool_choice" not in chat(tool_choice={"type": "none"})
    assert refused(tool_choice={"type": "any"}).param == "tool_choice.type"


@pytest.mark.parametrize(
    ("budget", "effort"), [(1024, "low"), (4096, "medium"), (16383, "medium"), (16384, "high")]
)
def test_a_thinking_budget_becomes_a_reasoning_effort(budget: int, effort: str) -> None:
    body = chat(max_tokens=32000, thinking={"type": "enabled", "budget_tokens": budget})
    assert body["reasoning_effort"] == effort


def test_thinking_disabled_or_adaptive_sends_no_effort_and_service_tier_stays_here() -> None:
    for thinking in ({"type": "disabled"}, {"type": "adaptive"}):
        assert "reasoning_effort" not in chat(thinking=thinking, service_tier="auto")
    assert "service_tier" not in chat(service_tier="auto")


def test_the_thinking_object_goes_on_whole_beside_the_effort() -> None:
    enabled = {"type": "enabled", "budget_tokens": 2048}
    body = chat(max_tokens=4096, thinking=enabled)
    assert body["thinking"] == enabled
    assert body["reasoning_effort"] == "low"
    adaptive = {"type": "adaptive", "display": "summarized"}
    assert chat(thinking=adaptive)["thinking"] == adaptive
    assert chat(thinking={"type": "disabled"})["thinking"] == {"type": "disabled"}
    assert "thinking" not in chat()


def test_an_unsigned_thinking_block_has_no_signature_and_a_plain_turn_no_reasoning() -> None:
    body = chat(
        messages=[
            USER,
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "Hm."}]},
            USER,
            {"role": "assistant", "content": [{"type": "text", "text": "Hi."}]},
            USER,
        ]
    )
    assert body["messages"][1] == {"role": "assistant", "content": None, "reasoning_content": "Hm."}
    assert body["messages"][3] == {"role": "assistant", "content": "Hi."}


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"model": None}, "model"),
        ({"model": ""}, "model"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": "9"}, "max_tokens"),
        ({"max_tokens": True}, "max_tokens"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "system", "content": "x"}]}, "messages.0.role"),
        ({"messages": [USER, {"role": "tool", "content": "x"}]}, "messages.1.role"),
        (
            {"messages": [{"role": "user", "content": [{"type": "video"}]}]},
            "messages.0.content.0.type",
        ),
        ({"messages": [{"role": "user", "content": [{"text": "x"}]}]}, "messages.0.content.0.type"),
        (
            {"messages": [USER, {"role": "user", "content": [{"type": "text", "text": 3}]}]},
            "messages.1.content.0.text",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "tool_use", "id": "a", "name": "b", "input": {}}],
                    }
                ]
            },
            "messages.0.content.0.type",
        ),
        (
            {"messages": [{"role": "assistant", "content": [{"type": "image", "source": {}}]}]},
            "messages.0.content.0.type",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "document",
                                "source": {
                                    "type": "base64",
                                    "media_type": "application/pdf",
                                    "data": "JV",
                                },
                            }
                        ],
                    }
                ]
            },
            "messages.0.content.0.source.type",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "image",
                                "source": {
                                    "type": "base64",
                                    "media_type": "image/bmp",
                                    "data": "Qk",
                                },
                            }
                        ],
                    }
                ]
            },
            "messages.0.content.0.source.media_type",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "tool_result",
                                "tool_use_id": "t",
                                "content": [{"type": "search_result"}],
                            }
                        ],
                    }
                ]
            },
            "messages.0.content.0.content.0.type",
        ),
        (
            {"tools": [WEATHER, {"type": "web_search_20250305", "name": "web_search"}]},
            "tools.1.type",
        ),
        ({"tools": [{"type": "bash_20250124", "name": "bash"}]}, "tools.0.type"),
        ({"tools": [{"name": "x"}]}, "tools.0.input_schema"),
        ({"tool_choice": {"type": "sometimes"}}, "tool_choice.type"),
        ({"thinking": {"type": "enabled", "budget_tokens": 1000}}, "thinking.budget_tokens"),
        ({"thinking": {"type": "enabled", "budget_tokens": 2048}}, "thinking.budget_tokens"),
        ({"temperature": 1.5}, "temperature"),
        ({"container": "c-1"}, "container"),
        ({"mcp_servers": [{"type": "url", "url": "https://x.test"}]}, "mcp_servers"),
        ({"frequency_penalty": 0.5}, "frequency_penalty"),
    ],
)
def test_bad_requests_name_the_field(fields: dict[str, Any], param: str) -> None:
    assert refused(**fields).param == param


def test_an_unsupported_document_says_so() -> None:
    source = {"type": "base64", "media_type": "application/pdf", "data": "JV"}
    error = refused(
        messages=[{"role": "user", "content": [{"type": "document", "source": source}]}]
    )
    assert "document blocks are not supported yet" in error.message
    assert error.status_code == 400


def test_a_missing_max_tokens_is_named() -> None:
    body = {"model": "claude", "messages": [USER]}
    with pytest.raises(InvalidRequestError) as caught:
        check_request(body)
    assert caught.value.param == "max_tokens"
    assert caught.value.code == "missing_required_parameter"
