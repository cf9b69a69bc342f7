"""The /v1/messages translation: Anthropic requests -> chat bodies, chat answers -> Anthropic.

The produced messages and streams are checked against the ``anthropic`` SDK itself: its
``Message`` model and the accumulator its ``MessageStream`` uses.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import pytest
from anthropic.lib.streaming._messages import accumulate_event

from gateway.api.openai.messages._request import chat_request
from gateway.api.openai.messages._response import message_from_chat
from gateway.api.openai.messages._stream import MessageStream, sse
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


# -- responses --------------------------------------------------------------------------


def completion(message: dict[str, Any], finish: str, **choice: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-abc",
        "object": "chat.completion",
        "model": "upstream-model",
        "choices": [{"index": 0, "message": message, "finish_reason": finish, **choice}],
        "usage": {
            "prompt_tokens": 120,
            "completion_tokens": 30,
            "total_tokens": 150,
            "prompt_tokens_details": {"cached_tokens": 100},
        },
    }


def test_a_completion_with_reasoning_text_and_tool_calls_becomes_a_message() -> None:
    message = message_from_chat(
        completion(
            {
                "role": "assistant",
                "content": "Let me check.",
                "reasoning_content": "The user wants weather.",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    },
                    {
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "now", "arguments": ""},
                    },
                    {
                        "id": "call_3",
                        "type": "function",
                        "function": {"name": "bad", "arguments": "{oops"},
                    },
                ],
            },
            "tool_calls",
        ),
        model="claude",
    )
    assert message == {
        "id": "msg_abc",
        "type": "message",
        "role": "assistant",
        "model": "claude",
        "content": [
            {"type": "thinking", "thinking": "The user wants weather.", "signature": ""},
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "call_2", "name": "now", "input": {}},
            {"type": "tool_use", "id": "call_3", "name": "bad", "input": {"_raw": "{oops"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 20,
            "output_tokens": 30,
            "cache_read_input_tokens": 100,
            "cache_creation_input_tokens": 0,
        },
    }
    assert anthropic.types.Message.model_validate(message).to_dict() == message


@pytest.mark.parametrize(
    ("finish", "choice", "reason", "sequence"),
    [
        ("stop", {}, "end_turn", None),
        ("stop", {"stop_reason": "END"}, "stop_sequence", "END"),
        ("stop", {"stop_reason": 128001}, "end_turn", None),
        ("length", {}, "max_tokens", None),
        ("content_filter", {}, "refusal", None),
    ],
)
def test_finish_reasons_map_to_stop_reasons(
    finish: str, choice: dict[str, Any], reason: str, sequence: str | None
) -> None:
    message = message_from_chat(
        completion({"role": "assistant", "content": "ok"}, finish, **choice), model="claude"
    )
    assert (message["stop_reason"], message["stop_sequence"]) == (reason, sequence)
    anthropic.types.Message.model_validate(message)


def test_an_anthropic_upstream_id_and_cache_writes_come_back() -> None:
    answer = completion({"role": "assistant", "content": "ok"}, "stop")
    answer["id"] = "chatcmpl-msg_01XY"
    answer["usage"]["prompt_tokens_details"]["cache_creation_tokens"] = 15
    message = message_from_chat(answer, model="claude")
    assert message["id"] == "msg_01XY"
    assert message["usage"]["input_tokens"] == 5
    assert message["usage"]["cache_creation_input_tokens"] == 15


# -- streams ----------------------------------------------------------------------------


def chunk(
    delta: dict[str, Any] | None = None,
    finish: str | None = None,
    *,
    usage: dict[str, Any] | None = None,
    **choice: Any,
) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    if choices:
        choices[0] |= choice
    return {
        "id": "chatcmpl-s",
        "object": "chat.completion.chunk",
        "choices": choices,
        "usage": usage,
    }


def call(index: int, arguments: str, *, call_id: str = "", name: str = "") -> dict[str, Any]:
    fragment: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if call_id:
        fragment |= {"id": call_id, "type": "function"}
        fragment["function"]["name"] = name
    return {"tool_calls": [fragment]}


def replay(chunks: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The events for ``chunks``, and the message the SDK's accumulator builds from them."""
    stream = MessageStream(model="claude", message_id="msg_s")
    events = stream.start()
    for each in chunks:
        events += stream.feed(each)
    events += stream.finish()
    snapshot = None
    json_bufs: dict[int, bytes] = {}
    for event in events:
        wire = sse(event)  # what the client parses
        kind, data = wire.decode().split("\n")[:2]
        assert kind == f"event: {event['type']}"
        decoded = json.loads(data.removeprefix("data: "))
        assert decoded == event
        if decoded["type"] != "ping":
            snapshot = accumulate_event(
                event=decoded, current_snapshot=snapshot, json_bufs=json_bufs
            )
    assert snapshot is not None
    built = snapshot.to_dict()
    assert built.pop("stop_details") is None  # set by the accumulator, never by us
    anthropic.types.Message.model_validate(built)
    return events, built


def test_a_stream_of_text_then_interleaved_tool_calls_and_usage() -> None:
    events, built = replay(
        [
            chunk({"role": "assistant", "content": ""}),
            chunk({"reasoning_content": "Two cities."}),
            chunk({"content": "Checking"}),
            chunk({"content": " both."}),
            chunk(call(0, "", call_id="call_a", name="get_weather")),
            chunk(call(0, '{"city": ')),
            chunk(call(1, '{"ci', call_id="call_b", name="get_weather")),
            chunk(call(0, '"Paris"}')),
            chunk(call(1, 'ty": "Rome"}')),
            chunk({}, "tool_calls"),
            chunk(usage={"prompt_tokens": 50, "completion_tokens": 12, "total_tokens": 62}),
        ]
    )
    assert [(e["type"], e.get("index")) for e in events] == [
        ("message_start", None),
        ("ping", None),
        ("content_block_start", 0),
        ("content_block_delta", 0),
        ("content_block_stop", 0),
        ("content_block_start", 1),
        ("content_block_delta", 1),
        ("content_block_delta", 1),
        ("content_block_stop", 1),
        ("content_block_start", 2),
        ("content_block_delta", 2),
        ("content_block_delta", 2),
        ("content_block_stop", 2),  # call_a's JSON completed: call_b, held, opens
        ("content_block_start", 3),
        ("content_block_delta", 3),
        ("content_block_delta", 3),
        ("content_block_stop", 3),
        ("message_delta", None),
        ("message_stop", None),
    ]
    assert events[13]["content_block"] == {
        "type": "tool_use",
        "id": "call_b",
        "name": "get_weather",
        "input": {},
    }
    assert events[14]["delta"] == {"type": "input_json_delta", "partial_json": '{"ci'}
    assert events[-2]["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}
    expected = {
        "id": "msg_s",
        "type": "message",
        "role": "assistant",
        "model": "claude",
        "content": [
            {"type": "thinking", "thinking": "Two cities.", "signature": ""},
            {"type": "text", "text": "Checking both."},
            {"type": "tool_use", "id": "call_a", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "call_b", "name": "get_weather", "input": {"city": "Rome"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 50,
            "output_tokens": 12,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
        },
    }
    assert built == expected


def test_the_stream_builds_the_same_message_as_the_completion() -> None:
    _, built = replay(
        [
            chunk({"role": "assistant", "content": "Hello"}),
            chunk({"content": " there"}, "stop", stop_reason="END"),
            chunk(
                usage={
                    "prompt_tokens": 9,
                    "completion_tokens": 2,
                    "prompt_tokens_details": {"cached_tokens": 4},
                }
            ),
        ]
    )
    whole = completion({"role": "assistant", "content": "Hello there"}, "stop", stop_reason="END")
    whole["usage"] = {
        "prompt_tokens": 9,
        "completion_tokens": 2,
        "prompt_tokens_details": {"cached_tokens": 4},
    }
    assert built == message_from_chat(whole, model="claude") | {"id": "msg_s"}


def test_a_call_that_never_completes_holds_later_blocks_until_the_end() -> None:
    events, built = replay(
        [
            chunk(call(0, '{"a": ', call_id="c0", name="f")),
            chunk(call(1, "{}", call_id="c1", name="g")),
            chunk({"content": "after"}),
            chunk({}, "tool_calls"),
        ]
    )
    # c0's arguments never parse: it stays open, and c1 and the text follow at the end
    assert [b["type"] for b in built["content"]] == ["tool_use", "tool_use", "text"]
    assert built["content"][1]["input"] == {}
    assert built["content"][2]["text"] == "after"
    assert built["content"][0]["input"] == {}  # the SDK's partial parse of '{"a": '
    assert [e["type"] for e in events[2:5]] == [
        "content_block_start",
        "content_block_delta",
        "content_block_stop",  # only at the end
    ]
    assert events[5]["content_block"]["id"] == "c1"


def test_an_error_event_and_an_empty_stream() -> None:
    stream = MessageStream(model="claude")
    assert stream.id.startswith("msg_")
    assert stream.error("overloaded_error", "busy") == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "busy"},
    }
    assert sse({"type": "ping"}) == b'event: ping\ndata: {"type":"ping"}\n\n'
    _, built = replay([])
    assert built["content"] == []
    assert built["stop_reason"] == "end_turn"


# -- thinking through the chat form ---------------------------------------------------------


def test_a_signed_reasoning_becomes_a_signed_thinking_block_and_redacted_blocks() -> None:
    reply = {
        "role": "assistant",
        "content": "Sunny.",
        "reasoning_content": "Look it up.",
        "reasoning_signature": "sig-1",
        "redacted_reasoning": ["opaque-1", "opaque-2"],
    }
    message = message_from_chat(completion(reply, "stop"), model="claude")
    assert message["content"] == [
        {"type": "thinking", "thinking": "Look it up.", "signature": "sig-1"},
        {"type": "redacted_thinking", "data": "opaque-1"},
        {"type": "redacted_thinking", "data": "opaque-2"},
        {"type": "text", "text": "Sunny."},
    ]
    assert anthropic.types.Message.model_validate(message).to_dict() == message


def test_the_stream_sends_the_signature_before_the_thinking_block_stops() -> None:
    events, built = replay(
        [
            chunk({"role": "assistant", "content": ""}),
            chunk({"reasoning_content": "Look "}),
            chunk({"reasoning_content": "it up."}),
            chunk({"reasoning_signature": "sig-1"}),
            chunk({"redacted_reasoning": ["opaque-1"]}),
            chunk({"reasoning_content": "Now call."}),  # after a signature: a new block
            chunk(call(0, "", call_id="call_a", name="get_weather")),
            chunk(call(0, '{"city": "Paris"}'), "tool_calls"),
        ]
    )
    shapes = [(e["type"], e.get("index"), (e.get("delta") or {}).get("type")) for e in events]
    signature_at = shapes.index(("content_block_delta", 0, "signature_delta"))
    assert shapes[signature_at + 1] == ("content_block_stop", 0, None)
    assert built["content"] == [
        {"type": "thinking", "thinking": "Look it up.", "signature": "sig-1"},
        {"type": "redacted_thinking", "data": "opaque-1"},
        {"type": "thinking", "thinking": "Now call.", "signature": ""},
        {"type": "tool_use", "id": "call_a", "name": "get_weather", "input": {"city": "Paris"}},
    ]


def test_a_signature_for_a_held_thinking_block_goes_out_when_it_opens() -> None:
    _, built = replay(
        [
            chunk(call(0, '{"city": ', call_id="call_a", name="get_weather")),
            chunk({"reasoning_content": "Meanwhile."}),  # held behind the unfinished call
            chunk({"reasoning_signature": "sig-2"}),
            chunk(call(0, '"Paris"}'), "tool_calls"),
        ]
    )
    assert built["content"] == [
        {"type": "tool_use", "id": "call_a", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "thinking", "thinking": "Meanwhile.", "signature": "sig-2"},
    ]
