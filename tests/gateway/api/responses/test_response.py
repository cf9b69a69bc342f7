"""response_from_chat: a chat completion -> a ``response`` the official SDK accepts."""

from __future__ import annotations

import re
from typing import Any

import pytest
from openai.types.responses import Response

from gateway.api.openai.responses import (
    ResponseContext,
    check_request,
    response_from_chat,
    usage_from_chat,
)
from tests.gateway.api.responses import _sdk


def completion(
    content: str | None = "hello",
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    finish_reason: str = "stop",
    usage: dict[str, Any] | None = None,
    refusal: str | None = None,
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls is not None:
        message["tool_calls"] = tool_calls
    if refusal is not None:
        message["refusal"] = refusal
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "upstream-model-1",
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": usage or {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
    }


def tool_call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def translate(answer: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {"model": "alias", "input": "hi", **fields}
    return response_from_chat(answer, ResponseContext(check_request(body), body))


def sdk(response: dict[str, Any]) -> Response:
    return Response.model_validate(response)


CASES = {
    "text": completion("hello there"),
    "empty": completion(""),
    "null content": completion(None),
    "tool calls": completion(
        None,
        tool_calls=[tool_call("call_1", "f", '{"a":1}'), tool_call("call_2", "g", "{}")],
        finish_reason="tool_calls",
    ),
    "text and a call": completion(
        "let me look", tool_calls=[tool_call("call_1", "f", "{}")], finish_reason="tool_calls"
    ),
    "length": completion("trunc", finish_reason="length"),
    "content filter": completion("", finish_reason="content_filter"),
    "refusal": completion(None, refusal="I can't"),
}


@pytest.mark.parametrize("answer", CASES.values(), ids=CASES.keys())
def test_every_response_validates_and_output_text_is_the_chat_content(
    answer: dict[str, Any],
) -> None:
    response = translate(answer)
    parsed = sdk(response)
    assert parsed.output_text == (answer["choices"][0]["message"]["content"] or "")
    assert "output_text" not in response
    assert parsed.object == "response"
    assert re.fullmatch(r"resp_[0-9a-f]{48}", parsed.id)
    assert parsed.model == "upstream-model-1"


def test_text_is_one_message_item() -> None:
    [item] = translate(completion("hello"))["output"]
    assert re.fullmatch(r"msg_[0-9a-f]{48}", item.pop("id"))
    assert item == {
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": "hello", "annotations": [], "logprobs": []}],
    }


def test_tool_calls_are_function_call_items_after_the_message() -> None:
    answer = CASES["text and a call"]
    message, call = translate(answer)["output"]
    assert message["type"] == "message"
    assert re.fullmatch(r"fc_[0-9a-f]{48}", call.pop("id"))
    assert call == {
        "type": "function_call",
        "status": "completed",
        "call_id": "call_1",
        "name": "f",
        "arguments": "{}",
    }
    response = translate(CASES["tool calls"])
    assert [(item["call_id"], item["name"], item["arguments"]) for item in response["output"]] == [
        ("call_1", "f", '{"a":1}'),
        ("call_2", "g", "{}"),
    ]
    assert response["status"] == "completed"


@pytest.mark.parametrize(
    ("finish_reason", "status", "reason"),
    [
        ("stop", "completed", None),
        ("tool_calls", "completed", None),
        ("length", "incomplete", "max_output_tokens"),
        ("content_filter", "incomplete", "content_filter"),
    ],
)
def test_status(finish_reason: str, status: str, reason: str | None) -> None:
    response = translate(completion("x", finish_reason=finish_reason))
    assert response["status"] == status
    assert response["incomplete_details"] == ({"reason": reason} if reason else None)
    assert response["output"][0]["status"] == ("incomplete" if reason else "completed")
    assert (response["completed_at"] is not None) == (status == "completed")
    sdk(response)


def test_a_refusal_is_a_refusal_part() -> None:
    [item] = translate(CASES["refusal"])["output"]
    assert item["content"] == [{"type": "refusal", "refusal": "I can't"}]


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        (
            {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
            {
                "input_tokens": 5,
                "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens": 7,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": 12,
            },
        ),
        (
            {
                "prompt_tokens": 50,
                "completion_tokens": 30,
                "total_tokens": 80,
                "prompt_tokens_details": {"cached_tokens": 40},
                "completion_tokens_details": {"reasoning_tokens": 20},
            },
            {
                "input_tokens": 50,
                "input_tokens_details": {"cached_tokens": 40, "cache_write_tokens": 0},
                "output_tokens": 30,
                "output_tokens_details": {"reasoning_tokens": 20},
                "total_tokens": 80,
            },
        ),
        (
            {"prompt_tokens": 2, "completion_tokens": 3},
            {
                "input_tokens": 2,
                "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens": 3,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": 5,
            },
        ),
        (None, None),
        ("junk", None),
    ],
)
def test_usage(usage: Any, expected: dict[str, Any] | None) -> None:
    assert usage_from_chat(usage) == expected
    answer = completion("x")
    answer["usage"] = usage
    sdk(translate(answer))


def test_the_request_is_echoed_as_openai_does() -> None:
    tools = [{"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": True}]
    text = {
        "format": {"type": "json_schema", "name": "s", "schema": {"type": "object"}, "strict": True}
    }
    response = translate(
        completion("{}"),
        instructions="be brief",
        tools=tools,
        tool_choice={"type": "function", "name": "f"},
        parallel_tool_calls=False,
        text=text,
        temperature=0.3,
        top_p=0.8,
        max_output_tokens=99,
        metadata={"k": "v"},
        previous_response_id="resp_0",
        store=False,
        reasoning={"effort": "low"},
        user="u",
        safety_identifier="sid",
    )
    echoed = {
        key: response[key]
        for key in response
        if key not in {"id", "created_at", "completed_at", "output", "usage"}
    }
    assert echoed == {
        "object": "response",
        "status": "completed",
        "background": False,
        "error": None,
        "incomplete_details": None,
        "model": "upstream-model-1",
        "instructions": "be brief",
        "max_output_tokens": 99,
        "metadata": {"k": "v"},
        "parallel_tool_calls": False,
        "previous_response_id": "resp_0",
        "reasoning": {"effort": "low"},
        "safety_identifier": "sid",
        "store": False,
        "temperature": 0.3,
        "text": text,
        "tool_choice": {"type": "function", "name": "f"},
        "tools": tools,
        "top_logprobs": None,
        "top_p": 0.8,
        "truncation": "disabled",
        "user": "u",
    }
    parsed = sdk(response)
    assert parsed.text is not None
    assert parsed.text.format is not None
    assert parsed.text.format.type == "json_schema"


def test_defaults_are_openais() -> None:
    response = translate(completion("x"))
    assert {
        key: response[key]
        for key in ("tools", "tool_choice", "parallel_tool_calls", "text", "store")
    } == {
        "tools": [],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "text": {"format": {"type": "text"}},
        "store": True,
    }
    assert response["temperature"] == response["top_p"] == 1.0
    assert response["metadata"] == {}


def test_the_model_falls_back_to_the_request() -> None:
    answer = completion("x")
    del answer["model"]
    assert translate(answer)["model"] == "alias"


def test_a_given_id_and_time() -> None:
    body = {"model": "m", "input": "x"}
    context = ResponseContext(check_request(body), body, response_id="resp_given", created_at=1.5)
    response = response_from_chat(completion("x"), context)
    assert (response["id"], response["created_at"]) == ("resp_given", 1)


def test_the_sdk_client_round_trip_with_function_calling() -> None:
    """client.responses.create twice: a call, then its output; what reached chat is recorded."""
    answers = iter(
        [
            completion(
                None,
                tool_calls=[tool_call("call_9", "weather", '{"city":"Oslo"}')],
                finish_reason="tool_calls",
            ),
            completion("It is 3°C in Oslo."),
        ]
    )
    recorder = _sdk.Recorder()
    client = _sdk.client(lambda _chat: next(answers), recorder)
    tools: Any = [
        {"type": "function", "name": "weather", "parameters": {"type": "object"}, "strict": False}
    ]
    first = client.responses.create(model="alias", input="Weather in Oslo?", tools=tools)
    [call] = first.output
    assert call.type == "function_call"
    assert (call.call_id, call.name, call.arguments) == ("call_9", "weather", '{"city":"Oslo"}')
    replayed: Any = [item.model_dump(exclude_none=True) for item in first.output]
    second = client.responses.create(
        model="alias",
        tools=tools,
        input=[
            {"role": "user", "content": "Weather in Oslo?"},
            *replayed,
            {"type": "function_call_output", "call_id": "call_9", "output": "3°C"},
        ],
    )
    assert second.output_text == "It is 3°C in Oslo."
    assert second.usage is not None
    assert second.usage.total_tokens == 12
    assert recorder.chat_bodies[1]["messages"] == [
        {"role": "user", "content": "Weather in Oslo?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [tool_call("call_9", "weather", '{"city":"Oslo"}')],
        },
        {"role": "tool", "tool_call_id": "call_9", "content": "3°C"},
    ]


def test_the_sdk_client_with_a_json_schema() -> None:
    recorder = _sdk.Recorder()
    client = _sdk.client(lambda _chat: completion('{"n": 1}'), recorder)
    response = client.responses.create(
        model="alias",
        input="count",
        text={
            "format": {
                "type": "json_schema",
                "name": "count",
                "schema": {"type": "object"},
                "strict": True,
            }
        },
    )
    assert response.output_text == '{"n": 1}'
    assert recorder.chat_bodies[0]["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "count", "schema": {"type": "object"}, "strict": True},
    }
