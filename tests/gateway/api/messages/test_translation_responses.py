"""Chat completions and chat streams translated back into Anthropic messages and events,
thinking included."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import pytest
from anthropic.lib.streaming._messages import accumulate_event

from gateway.api.openai.messages._response import message_from_chat
from gateway.api.openai.messages._stream import MessageStream, sse

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
