"""The native lane's conversions: chat body -> Responses body, response -> chat.completion,
Responses events -> chat chunks; each checked against the openai SDK's own types."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import FunctionTool, Response
from openai.types.responses.response_create_params import ResponseCreateParamsBase
from pydantic import TypeAdapter

from gateway.api.openai.responses import (
    ChunksFromEvents,
    ResponseContext,
    ResponseStream,
    chat_from_response,
    chat_request,
    check_request,
    response_from_chat,
    responses_body,
)
from tests.support import fake_openai

PARAMS: TypeAdapter[Any] = TypeAdapter(ResponseCreateParamsBase)
SCHEMA = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
SEARCH = {
    "type": "function",
    "name": "search",
    "description": "search the docs",
    "parameters": SCHEMA,
    "strict": True,
}
PASSTHROUGH = ("reasoning", "include", "truncation", "prompt_cache_key")


def native(body: dict[str, Any], passthrough: tuple[str, ...] = PASSTHROUGH) -> dict[str, Any]:
    """What a native upstream receives for the client's Responses ``body``."""
    chat = chat_request(check_request(body), body)
    kept = {name: body[name] for name in passthrough if name in body}
    return responses_body(chat, passthrough=kept)


def check_params(body: dict[str, Any]) -> None:
    """The body is one the SDK would send (tools checked as its models: strict is optional)."""
    PARAMS.validate_python({**body, "tools": []})
    for tool in body.get("tools") or ():
        FunctionTool.model_validate(tool)


REALISTIC: dict[str, Any] = {
    "model": "m",
    "instructions": "be brief",
    "input": [
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "what is in this picture?"},
                {"type": "input_image", "image_url": "https://x/a.png", "detail": "high"},
                {
                    "type": "input_file",
                    "file_data": "data:application/pdf;base64,AA",
                    "filename": "a.pdf",
                },
            ],
        },
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "a cat", "annotations": []}],
        },
        {"type": "function_call", "call_id": "call_1", "name": "search", "arguments": '{"q":"c"}'},
        {"type": "function_call", "call_id": "call_2", "name": "search", "arguments": '{"q":"d"}'},
        {"type": "function_call_output", "call_id": "call_1", "output": "3 cats"},
        {
            "type": "function_call_output",
            "call_id": "call_2",
            "output": [{"type": "input_text", "text": "2 dogs"}],
        },
        {"role": "user", "content": "and now?"},
    ],
    "tools": [SEARCH],
    "tool_choice": {"type": "function", "name": "search"},
    "parallel_tool_calls": False,
    "text": {
        "format": {
            "type": "json_schema",
            "name": "answer",
            "schema": SCHEMA,
            "description": "the answer",
            "strict": True,
        },
        "verbosity": "low",
    },
    "max_output_tokens": 300,
    "temperature": 0.5,
    "top_p": 0.9,
    "top_logprobs": 2,
    "user": "u-1",
    "safety_identifier": "s-1",
    "metadata": {"team": "a"},
    "reasoning": {"effort": "low", "summary": "auto"},
    "include": ["reasoning.encrypted_content"],
    "truncation": "auto",
    "prompt_cache_key": "k-1",
    "store": True,
    "stream": True,
}


def test_a_realistic_request_reaches_a_native_upstream_as_the_client_said_it() -> None:
    sent = native(REALISTIC)
    check_params(sent)
    assert sent == {
        "model": "m",
        "input": [
            {"type": "message", "role": "system", "content": "be brief"},
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "what is in this picture?"},
                    {"type": "input_image", "image_url": "https://x/a.png", "detail": "high"},
                    {
                        "type": "input_file",
                        "file_data": "data:application/pdf;base64,AA",
                        "filename": "a.pdf",
                    },
                ],
            },
            {"type": "message", "role": "assistant", "content": "a cat"},
            *REALISTIC["input"][2:6],
            {"type": "message", "role": "user", "content": "and now?"},
        ],
        "tools": [SEARCH],
        "tool_choice": {"type": "function", "name": "search"},
        "parallel_tool_calls": False,
        "text": REALISTIC["text"],
        "max_output_tokens": 300,
        "temperature": 0.5,
        "top_p": 0.9,
        "top_logprobs": 2,
        "include": ["reasoning.encrypted_content", "message.output_text.logprobs"],
        "user": "u-1",
        "safety_identifier": "s-1",
        "metadata": {"team": "a"},
        "reasoning": {"effort": "low", "summary": "auto"},
        "truncation": "auto",
        "prompt_cache_key": "k-1",
        "stream": True,
        "store": False,
    }


@pytest.mark.parametrize(
    "choice",
    [
        "none",
        "auto",
        "required",
        {"type": "function", "name": "search"},
        {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "x"}]},
    ],
)
def test_tool_choices_come_back_as_sent(choice: Any) -> None:
    sent = native({"model": "m", "input": "hi", "tools": [SEARCH], "tool_choice": choice})
    check_params(sent)
    assert sent["tool_choice"] == choice


@pytest.mark.parametrize(
    "fmt",
    [{"type": "text"}, {"type": "json_object"}, {"type": "json_schema", "name": "a", "schema": {}}],
)
def test_text_formats_come_back_as_sent(fmt: dict[str, Any]) -> None:
    assert native({"model": "m", "input": "hi", "text": {"format": fmt}})["text"] == {"format": fmt}


def test_a_tool_without_strict_keeps_responses_own_default() -> None:
    tool = {"type": "function", "name": "f", "parameters": SCHEMA}
    assert native({"model": "m", "input": "hi", "tools": [tool]})["tools"] == [tool]


def test_reasoning_effort_unless_the_client_sent_reasoning() -> None:
    chat = {"model": "m", "messages": [{"role": "user", "content": "x"}], "reasoning_effort": "low"}
    assert responses_body(chat, passthrough={})["reasoning"] == {"effort": "low"}
    given = {"effort": "high", "summary": "auto"}
    assert responses_body(chat, passthrough={"reasoning": given})["reasoning"] == given


def test_chat_only_fields_go_and_unknown_ones_stay() -> None:
    chat = {
        "model": "m",
        "messages": [{"role": "developer", "content": "x"}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "logprobs": True,
        "max_tokens": 5,
        "service_tier": "flex",
    }
    sent = responses_body(chat, passthrough={"store": True})
    assert sent == {
        "model": "m",
        "input": [{"type": "message", "role": "developer", "content": "x"}],
        "stream": True,
        "max_output_tokens": 5,
        "top_logprobs": 0,
        "include": ["message.output_text.logprobs"],
        "service_tier": "flex",
        "store": False,  # the gateway stores; the upstream never keeps a copy
    }


def test_a_masked_chat_body_converts_like_any_other() -> None:
    """PII masking rewrites values, not shapes: the masked values are what goes."""
    chat = chat_request(check_request(REALISTIC), REALISTIC)
    chat["messages"][-1]["content"] = "and <PERSON_1>?"
    chat["messages"][1]["content"][0]["text"] = "<EMAIL_ADDRESS_1>"
    sent = responses_body(chat, passthrough={})
    assert sent["input"][-1]["content"] == "and <PERSON_1>?"
    assert sent["input"][1]["content"][0] == {"type": "input_text", "text": "<EMAIL_ADDRESS_1>"}


# -- response -> chat.completion ---------------------------------------------------------
def response(**fields: Any) -> dict[str, Any]:
    """A response object as OpenAI sends it (checked by the SDK's model)."""
    body = {
        "id": "resp_1",
        "object": "response",
        "created_at": 1700000000,
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "metadata": {},
        "model": "gpt-x",
        "output": [],
        "parallel_tool_calls": True,
        "temperature": 1.0,
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "usage": {
            "input_tokens": 10,
            "input_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 0},
            "output_tokens": 7,
            "output_tokens_details": {"reasoning_tokens": 3},
            "total_tokens": 17,
        },
        **fields,
    }
    Response.model_validate(body)
    return body


def message(*parts: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": list(parts),
    }


def text(value: str, logprobs: list[Any] | None = None) -> dict[str, Any]:
    return {"type": "output_text", "text": value, "annotations": [], "logprobs": logprobs or []}


def call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {
        "id": f"fc_{call_id}",
        "type": "function_call",
        "status": "completed",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


REASONING = {"id": "rs_1", "type": "reasoning", "summary": []}


def test_a_response_becomes_a_chat_completion() -> None:
    token = {"token": "Hi", "logprob": -0.1, "bytes": [72, 105], "top_logprobs": []}
    completion = chat_from_response(
        response(output=[REASONING, message(text("Hi", [token]), text(" there"))])
    )
    ChatCompletion.model_validate(completion)
    assert completion["id"] == "resp_1"
    assert completion["created"] == 1700000000
    assert completion["model"] == "gpt-x"
    (choice,) = completion["choices"]
    assert choice["message"] == {"role": "assistant", "content": "Hi there", "refusal": None}
    assert choice["finish_reason"] == "stop"
    assert choice["logprobs"] == {"content": [token], "refusal": None}
    assert completion["usage"] == {
        "prompt_tokens": 10,
        "completion_tokens": 7,
        "total_tokens": 17,
        "prompt_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 3},
    }


def test_function_calls_become_tool_calls_in_order() -> None:
    completion = chat_from_response(
        response(
            output=[message(text("looking")), call("c1", "a", '{"x":1}'), call("c2", "b", "{}")]
        )
    )
    ChatCompletion.model_validate(completion)
    (choice,) = completion["choices"]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "looking"
    assert choice["message"]["tool_calls"] == [
        {"id": "c1", "type": "function", "function": {"name": "a", "arguments": '{"x":1}'}},
        {"id": "c2", "type": "function", "function": {"name": "b", "arguments": "{}"}},
    ]


def test_a_refusal_is_the_messages_refusal() -> None:
    refusal = {"type": "refusal", "refusal": "I can't"}
    completion = chat_from_response(response(output=[message(refusal)]))
    ChatCompletion.model_validate(completion)
    assert completion["choices"][0]["message"] == {
        "role": "assistant",
        "content": None,
        "refusal": "I can't",
    }


@pytest.mark.parametrize(
    ("reason", "finish"), [("max_output_tokens", "length"), ("content_filter", "content_filter")]
)
def test_an_incomplete_response_says_why(reason: str, finish: str) -> None:
    cut = response(
        status="incomplete",
        incomplete_details={"reason": reason},
        output=[call("c1", "a", '{"x":')],
    )
    assert chat_from_response(cut)["choices"][0]["finish_reason"] == finish


def test_the_translation_back_gives_the_same_response() -> None:
    """native -> chat.completion -> the gateway's response object: nothing said is lost."""
    original = response(output=[message(text("Hi")), call("c1", "a", "{}")])
    body = {"model": "m", "input": "hi"}
    again = response_from_chat(
        chat_from_response(original), ResponseContext(check_request(body), body)
    )
    Response.model_validate(again)
    assert [item["type"] for item in again["output"]] == ["message", "function_call"]
    assert again["output"][0]["content"][0]["text"] == "Hi"
    assert again["output"][1]["call_id"] == "c1"
    assert again["usage"] == original["usage"]


# -- events -> chat.completion.chunk -------------------------------------------------------
def chat_chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "gpt-x",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def tool_delta(index: int, **fields: Any) -> dict[str, Any]:
    call_id = fields.pop("id", None)
    delta: dict[str, Any] = {"index": index, "function": fields}
    if call_id:
        delta["id"] = call_id
    return {"tool_calls": [delta]}


USAGE = {"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14}


def events_for(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Real Responses events, as the gateway's own translation (SDK-checked) makes them."""
    body = {"model": "m", "input": "hi"}
    stream = ResponseStream(ResponseContext(check_request(body), body))
    events = stream.start()
    for chunk in chunks:
        events += stream.feed(chunk)
    return events + stream.finish()


def chunks_for(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    translate = ChunksFromEvents()
    chunks = [chunk for event in events for chunk in translate.feed(event)]
    for chunk in chunks:
        ChatCompletionChunk.model_validate(chunk)
    assert translate.done
    return chunks


def test_a_text_and_tool_call_stream_round_trips() -> None:
    upstream = [
        chat_chunk({"role": "assistant", "content": ""}),
        chat_chunk({"content": "Let me "}),
        chat_chunk({"content": "look."}),
        chat_chunk(tool_delta(0, id="c1", name="search", arguments="")),
        chat_chunk(tool_delta(1, id="c2", name="fetch", arguments='{"u"')),
        chat_chunk(tool_delta(0, arguments='{"q": "x"}')),
        chat_chunk(tool_delta(1, arguments=': "y"}')),
        chat_chunk({}, "tool_calls"),
        {**chat_chunk({}), "choices": [], "usage": USAGE},
    ]
    chunks = chunks_for(events_for(upstream))
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert {c["id"] for c in chunks} == {chunks[0]["id"]}
    assert chunks[0]["id"].startswith("resp_")
    assert {c["model"] for c in chunks} == {"m"}  # as response.created named it
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert content == "Let me look."
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for delta in (
            chunk["choices"][0]["delta"].get("tool_calls") or () if chunk["choices"] else ()
        ):
            entry = calls.setdefault(delta["index"], {"id": "", "name": "", "arguments": ""})
            entry["id"] += delta.get("id") or ""
            entry["name"] += delta["function"].get("name") or ""
            entry["arguments"] += delta["function"].get("arguments") or ""
    assert calls == {
        0: {"id": "c1", "name": "search", "arguments": '{"q": "x"}'},
        1: {"id": "c2", "name": "fetch", "arguments": '{"u": "y"}'},
    }
    *_, finish, usage = chunks
    assert finish["choices"][0]["finish_reason"] == "tool_calls"
    assert usage["choices"] == []
    assert usage["usage"]["prompt_tokens"] == 5
    assert usage["usage"]["completion_tokens"] == 9


@pytest.mark.parametrize(("finish", "expected"), [("length", "length"), ("stop", "stop")])
def test_the_finish_reason_follows_the_responses_status(finish: str, expected: str) -> None:
    upstream = [chat_chunk({"content": "a"}), chat_chunk({}, finish)]
    chunks = chunks_for(events_for(upstream))
    assert chunks[-1]["choices"][0]["finish_reason"] == expected  # no usage: none was sent


def test_a_refusal_streams_as_refusal_deltas() -> None:
    chunks = chunks_for(events_for([chat_chunk({"refusal": "no"}), chat_chunk({}, "stop")]))
    assert [c["choices"][0]["delta"] for c in chunks[:2]] == [
        {"role": "assistant", "content": ""},
        {"refusal": "no"},
    ]


def test_arguments_find_their_call_by_item_id_and_other_events_give_nothing() -> None:
    translate = ChunksFromEvents()
    added = {
        "type": "response.output_item.added",
        "item": {"type": "function_call", "id": "fc_9", "call_id": "c9", "name": "f"},
    }
    assert [c["choices"][0]["delta"] for c in translate.feed(added)] == [
        {"role": "assistant", "content": ""},
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "c9",
                    "type": "function",
                    "function": {"name": "f", "arguments": ""},
                }
            ]
        },
    ]
    delta = {"type": "response.function_call_arguments.delta", "item_id": "fc_9", "delta": "{}"}
    (chunk,) = translate.feed(delta)
    assert chunk["choices"][0]["delta"]["tool_calls"] == [
        {"index": 0, "function": {"arguments": "{}"}}
    ]
    unknown = {"type": "response.function_call_arguments.delta", "item_id": "fc_0", "delta": "x"}
    assert translate.feed(unknown) == []
    for kind in ("response.reasoning_summary_text.delta", "response.output_text.done", "keepalive"):
        assert translate.feed({"type": kind, "delta": "x"}) == []


def test_the_fake_upstreams_events_translate_too() -> None:
    """The event sequence tests/support/fake_openai.py sends, text then a tool call."""
    for body in (
        {"model": "m", "input": "hi you"},
        {"model": "m", "input": "hi you", "tools": [SEARCH]},
    ):
        chunks = chunks_for(fake_openai._responses_events(body))
        deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
        if "tools" in body:
            arguments = "".join(
                d["tool_calls"][0]["function"]["arguments"] for d in deltas[1:] if "tool_calls" in d
            )
            assert json.loads(arguments) == {"q": "hi you"}
        else:
            assert "".join(d.get("content") or "" for d in deltas) == "echo: hi you"
