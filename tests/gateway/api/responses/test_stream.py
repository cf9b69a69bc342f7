"""ResponseStream: chat chunks -> Responses events the SDK parses and accumulates."""

from __future__ import annotations

from typing import Any

import pytest
from openai.types.responses import Response, ResponseOutputMessage, ResponseStreamEvent
from pydantic import TypeAdapter

from gateway.api.openai.responses import (
    ResponseContext,
    ResponseStream,
    check_request,
    response_from_chat,
    sse_event,
)
from tests.gateway.api.responses import _sdk

EVENT: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)


def chunk(
    delta: dict[str, Any] | None = None, *, finish_reason: str | None = None, **extra: Any
) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta or {}, "finish_reason": finish_reason}
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "upstream-1",
        "choices": [choice],
        **extra,
    }


def usage_chunk(prompt: int = 4, completion: int = 6) -> dict[str, Any]:
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "upstream-1",
        "choices": [],
        "usage": usage,
    }


def call_delta(
    index: int, *, call_id: str | None = None, name: str | None = None, arguments: str = ""
) -> dict[str, Any]:
    call: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if call_id is not None:
        call.update(id=call_id, type="function")
        call["function"]["name"] = name
    return {"tool_calls": [call]}


TEXT = [
    chunk({"role": "assistant", "content": ""}),
    chunk({"content": "Hel"}),
    chunk({"content": "lo"}),
    chunk(finish_reason="stop"),
    usage_chunk(),
]
# two calls whose fragments interleave, after some text
INTERLEAVED = [
    chunk({"role": "assistant", "content": "Checking."}),
    chunk(call_delta(0, call_id="call_a", name="weather", arguments="")),
    chunk(call_delta(1, call_id="call_b", name="time", arguments='{"tz"')),
    chunk(call_delta(0, arguments='{"city":')),
    chunk(call_delta(1, arguments=':"CET"}')),
    chunk(call_delta(0, arguments='"Oslo"}')),
    chunk(finish_reason="tool_calls"),
    usage_chunk(10, 20),
]


def context(**fields: Any) -> ResponseContext:
    body = {"model": "alias", "input": "hi", "stream": True, **fields}
    return ResponseContext(check_request(body), body)


def run(chunks: list[dict[str, Any]], **fields: Any) -> list[dict[str, Any]]:
    return _sdk.stream_events(context(**fields), chunks)


def types(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


def check_events(events: list[dict[str, Any]]) -> None:
    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    for event in events:
        EVENT.validate_python(event)


@pytest.mark.parametrize("chunks", [TEXT, INTERLEAVED], ids=["text", "interleaved"])
def test_every_event_validates_as_the_sdks_union(chunks: list[dict[str, Any]]) -> None:
    check_events(run(chunks))


def test_a_text_stream() -> None:
    events = run(TEXT)
    assert types(events) == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e["delta"] for e in events if e["type"] == "response.output_text.delta"] == [
        "Hel",
        "lo",
    ]
    assert events[0]["response"]["status"] == "in_progress"
    assert events[0]["response"]["output"] == []
    final = Response.model_validate(events[-1]["response"])
    assert final.output_text == "Hello"
    assert final.status == "completed"
    assert final.model == "upstream-1"
    assert final.usage is not None
    assert (final.usage.input_tokens, final.usage.output_tokens) == (4, 6)
    item_id = events[2]["item"]["id"]
    assert {e["item_id"] for e in events[3:9] if "item_id" in e} == {item_id}
    assert events[-2]["item"]["id"] == item_id


def test_interleaved_tool_calls_keep_their_arguments_apart() -> None:
    events = run(INTERLEAVED)
    final = Response.model_validate(events[-1]["response"])
    message, weather, time = final.output
    assert message.type == "message"
    assert final.output_text == "Checking."
    assert weather.type == "function_call"
    assert time.type == "function_call"
    assert (weather.call_id, weather.name, weather.arguments) == (
        "call_a",
        "weather",
        '{"city":"Oslo"}',
    )
    assert (time.call_id, time.name, time.arguments) == ("call_b", "time", '{"tz":"CET"}')
    deltas: dict[int, str] = {}
    for event in events:
        if event["type"] == "response.function_call_arguments.delta":
            deltas[event["output_index"]] = deltas.get(event["output_index"], "") + event["delta"]
    assert deltas == {1: '{"city":"Oslo"}', 2: '{"tz":"CET"}'}
    done = {
        e["output_index"]: e["arguments"]
        for e in events
        if e["type"] == "response.function_call_arguments.done"
    }
    assert done == deltas
    added = [e["item"] for e in events if e["type"] == "response.output_item.added"]
    assert [item["type"] for item in added] == ["message", "function_call", "function_call"]
    assert added[1]["name"] == "weather"
    assert added[1]["arguments"] == ""


def test_a_tool_call_only_stream_has_no_message() -> None:
    events = run([chunk({"role": "assistant"}), *INTERLEAVED[1:]])
    assert "response.content_part.added" not in types(events)
    final = Response.model_validate(events[-1]["response"])
    assert [item.type for item in final.output] == ["function_call", "function_call"]
    assert final.output_text == ""


@pytest.mark.parametrize(
    ("finish_reason", "reason"),
    [("length", "max_output_tokens"), ("content_filter", "content_filter")],
)
def test_a_cut_stream_ends_incomplete(finish_reason: str, reason: str) -> None:
    events = run([chunk({"content": "abc"}), chunk(finish_reason=finish_reason)])
    check_events(events)
    assert events[-1]["type"] == "response.incomplete"
    final = Response.model_validate(events[-1]["response"])
    assert final.status == "incomplete"
    assert final.incomplete_details is not None
    assert final.incomplete_details.reason == reason
    assert isinstance(final.output[0], ResponseOutputMessage)
    assert final.output[0].status == "incomplete"
    assert final.usage is None  # the upstream sent none


def test_a_refusal_streams_as_a_refusal_part() -> None:
    events = run(
        [chunk({"refusal": "I can"}), chunk({"refusal": "'t"}), chunk(finish_reason="stop")]
    )
    check_events(events)
    assert "response.refusal.delta" in types(events)
    [done] = [e for e in events if e["type"] == "response.refusal.done"]
    assert done["refusal"] == "I can't"


def test_an_upstream_failure_ends_with_response_failed() -> None:
    stream = ResponseStream(context())
    events = stream.start() + stream.feed(chunk({"content": "par"}))
    events += stream.fail("the upstream closed the stream")
    check_events(events)
    assert stream.done
    failed = Response.model_validate(events[-1]["response"])
    assert failed.status == "failed"
    assert failed.error is not None
    assert (failed.error.code, failed.error.message) == (
        "server_error",
        "the upstream closed the stream",
    )
    assert isinstance(failed.output[0], ResponseOutputMessage)
    assert failed.output[0].status == "incomplete"


def test_an_error_event() -> None:
    stream = ResponseStream(context())
    event = stream.error("rate limited upstream", code="rate_limit_exceeded")
    EVENT.validate_python(event)
    assert event == {
        "type": "error",
        "sequence_number": 0,
        "code": "rate_limit_exceeded",
        "message": "rate limited upstream",
        "param": None,
    }


def test_chunks_for_other_choices_and_empty_ones_are_ignored() -> None:
    other = {"choices": [{"index": 1, "delta": {"content": "no"}}]}
    events = run([{"choices": None}, other, chunk({"content": "yes"}), chunk(finish_reason="stop")])
    assert Response.model_validate(events[-1]["response"]).output_text == "yes"


def test_the_streamed_response_matches_the_non_streamed_one() -> None:
    """The same answer, streamed or not, gives the same response but for the ids and times."""
    streamed = run(INTERLEAVED)[-1]["response"]
    message = {
        "role": "assistant",
        "content": "Checking.",
        "tool_calls": [
            {
                "id": "call_a",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city":"Oslo"}'},
            },
            {
                "id": "call_b",
                "type": "function",
                "function": {"name": "time", "arguments": '{"tz":"CET"}'},
            },
        ],
    }
    answer = {
        "model": "upstream-1",
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
        "usage": usage_chunk(10, 20)["usage"],
    }
    whole = response_from_chat(answer, context())

    def without_ids(response: dict[str, Any]) -> dict[str, Any]:
        output = [{k: v for k, v in item.items() if k != "id"} for item in response["output"]]
        rest = {k: v for k, v in response.items() if k not in {"id", "created_at", "completed_at"}}
        return {**rest, "output": output}

    assert without_ids(streamed) == without_ids(whole)


def test_sse_framing() -> None:
    event = {"type": "response.output_text.delta", "sequence_number": 3, "delta": "é"}
    assert sse_event(event) == (
        b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta",'
        b'"sequence_number":3,"delta":"\xc3\xa9"}\n\n'
    )


def test_the_sdk_stream_helper_accumulates_the_same_final_response() -> None:
    """client.responses.stream over our SSE bytes: the SDK's own accumulator (its snapshots
    built from the deltas) agrees with the ``response.completed`` we sent."""
    client = _sdk.client(lambda _chat: INTERLEAVED)
    snapshots: dict[tuple[int, str], str] = {}
    tools: Any = [
        {"type": "function", "name": "weather", "parameters": {"type": "object"}, "strict": False},
        {"type": "function", "name": "time", "parameters": {"type": "object"}, "strict": False},
    ]
    with client.responses.stream(model="alias", input="hi", tools=tools) as stream:
        seen = []
        for event in stream:
            seen.append(event.type)
            if event.type == "response.output_text.delta":
                snapshots[(event.output_index, "text")] = event.snapshot
            elif event.type == "response.function_call_arguments.delta":
                snapshots[(event.output_index, "arguments")] = event.snapshot
        final = stream.get_final_response()
    assert seen[0] == "response.created"
    assert seen[-1] == "response.completed"
    assert final.output_text == "Checking."
    by_index = {
        (index, "text" if item.type == "message" else "arguments"): (
            final.output_text if item.type == "message" else item.arguments  # type: ignore[union-attr]
        )
        for index, item in enumerate(final.output)
    }
    assert snapshots == by_index
    assert final.status == "completed"
    assert final.usage is not None
    assert final.usage.total_tokens == 30


def test_the_sdk_stream_helper_over_a_text_stream() -> None:
    client = _sdk.client(lambda _chat: TEXT)
    with client.responses.stream(model="alias", input="hi") as stream:
        text = "".join(
            event.delta for event in stream if event.type == "response.output_text.delta"
        )
        final = stream.get_final_response()
    assert text == final.output_text == "Hello"


def test_a_search_between_two_model_calls_is_one_stream() -> None:
    """The gateway's file_search loop: text, a search item, more text; annotations at close."""
    body = {"model": "m", "input": "q", "stream": True}
    annotate = lambda text: (  # noqa: E731 - one line, the test's own
        [{"type": "file_citation", "file_id": "f", "filename": "a.md", "index": text.index("[1]")}]
        if "[1]" in text
        else []
    )
    stream = ResponseStream(ResponseContext(check_request(body), body), annotate=annotate)
    events = stream.start()
    events += stream.feed(chunk({"content": "Let me look."}, finish_reason="tool_calls"))
    events += stream.close_round()
    events += stream.search_started("fs_1")
    item: dict[str, Any] = {"id": "fs_1", "type": "file_search_call", "status": "completed"}
    item |= {"queries": ["q"], "results": None}
    events += stream.search_done(item)
    events += stream.feed(chunk({"content": "It is 30 days [1]."}, finish_reason="stop"))
    events += stream.finish()
    for event in events:
        EVENT.validate_python(event)  # every event is one the SDK knows
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    kinds = [e["type"] for e in events]
    assert kinds.index("response.file_search_call.completed") < kinds.index("response.completed")
    assert kinds.count("response.output_text.annotation.added") == 1
    final = Response.model_validate(events[-1]["response"])
    assert [o.type for o in final.output] == ["message", "file_search_call", "message"]
    last = final.output[2]
    assert isinstance(last, ResponseOutputMessage)
    text = last.content[0]
    assert text.type == "output_text"
    assert text.text == "It is 30 days [1]."
    assert [a.model_dump()["index"] for a in text.annotations] == [14]


def test_close_all_then_fail_instead_of_end() -> None:
    body = {"model": "m", "input": "q", "stream": True}
    stream = ResponseStream(ResponseContext(check_request(body), body))
    events = stream.start() + stream.feed(chunk({"content": "hi"}, finish_reason="stop"))
    events += stream.close_all()
    assert stream.response is not None
    assert stream.response["status"] == "completed"
    events += stream.fail("could not be stored")
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert events[-1]["type"] == "response.failed"
    assert events[-1]["response"]["output"][0]["status"] == "completed"
