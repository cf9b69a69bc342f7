"""chat_request: each Responses request field -> the chat completions body."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.api.openai.responses import chat_request, check_request
from gateway.api.openai.responses.protocol import FunctionCallItem, InputItem, MessageItem
from gateway.platform.errors import InvalidRequestError


def chat(**fields: Any) -> dict[str, Any]:
    body = {"model": "m", **fields}
    return chat_request(check_request(body), body)


def messages(*items: Any, **fields: Any) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = chat(input=list(items), **fields)["messages"]
    return result


USER = {"role": "user", "content": "hi"}


def test_a_string_input_is_one_user_message_after_the_instructions() -> None:
    assert chat(input="hi", instructions="be brief")["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
    ]


def test_instructions_can_be_a_developer_message() -> None:
    body = {"model": "m", "input": "hi", "instructions": "x"}
    sent = chat_request(check_request(body), body, instructions_role="developer")
    assert sent["messages"][0] == {"role": "developer", "content": "x"}


@pytest.mark.parametrize("role", ["user", "system", "developer", "assistant"])
def test_string_messages_keep_their_role(role: str) -> None:
    assert messages({"role": role, "content": "x"}) == [{"role": role, "content": "x"}]
    assert messages({"type": "message", "role": role, "content": "x"}) == [
        {"role": role, "content": "x"}
    ]


@pytest.mark.parametrize(
    ("part", "expected"),
    [
        ({"type": "input_text", "text": "t"}, {"type": "text", "text": "t"}),
        (
            {"type": "input_image", "image_url": "https://x/a.png", "detail": "high"},
            {"type": "image_url", "image_url": {"url": "https://x/a.png", "detail": "high"}},
        ),
        (
            {"type": "input_image", "image_url": "data:image/png;base64,AA"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}},
        ),
        (
            {
                "type": "input_file",
                "file_data": "data:application/pdf;base64,AA",
                "filename": "a.pdf",
            },
            {
                "type": "file",
                "file": {"file_data": "data:application/pdf;base64,AA", "filename": "a.pdf"},
            },
        ),
        (
            {"type": "input_file", "file_id": "file-1"},
            {"type": "file", "file": {"file_id": "file-1"}},
        ),
    ],
)
def test_input_parts(part: dict[str, Any], expected: dict[str, Any]) -> None:
    assert messages({"role": "user", "content": [part]}) == [
        {"role": "user", "content": [expected]}
    ]


@pytest.mark.parametrize(
    ("part", "param"),
    [
        ({"type": "input_image", "file_id": "file-1"}, "input[0].content[0].image_url"),
        ({"type": "input_file", "file_url": "https://x/a.pdf"}, "input[0].content[0].file_url"),
        ({"type": "output_text", "text": "x"}, "input[0].content[0].type"),
        ({"type": "refusal", "refusal": "x"}, "input[0].content[0].type"),
    ],
)
def test_parts_chat_cannot_take_are_refused(part: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        messages({"role": "user", "content": [part]})
    assert caught.value.param == param


def test_assistant_messages_join_their_text_and_carry_refusals() -> None:
    item = {
        "type": "message",
        "role": "assistant",
        "id": "msg_1",
        "status": "completed",
        "content": [
            {"type": "output_text", "text": "a", "annotations": []},
            {"type": "output_text", "text": "b", "annotations": []},
            {"type": "refusal", "refusal": "no"},
        ],
    }
    assert messages(item) == [{"role": "assistant", "content": "ab", "refusal": "no"}]


def test_an_image_in_an_assistant_message_is_refused() -> None:
    item = {"role": "assistant", "content": [{"type": "input_image", "image_url": "u"}]}
    with pytest.raises(InvalidRequestError) as caught:
        messages(USER, item)
    assert caught.value.param == "input[1].content[0].type"


def call(call_id: str, name: str = "f", arguments: str = "{}") -> dict[str, Any]:
    return {"type": "function_call", "call_id": call_id, "name": name, "arguments": arguments}


def tool_call(call_id: str, name: str = "f", arguments: str = "{}") -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def output(call_id: str, value: Any = "ok") -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": call_id, "output": value}


def test_consecutive_function_calls_are_one_assistant_message_and_outputs_tool_messages() -> None:
    assert messages(
        USER, call("c1"), call("c2", "g", '{"a":1}'), output("c1"), output("c2", "2")
    ) == [
        USER,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [tool_call("c1"), tool_call("c2", "g", '{"a":1}')],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "ok"},
        {"role": "tool", "tool_call_id": "c2", "content": "2"},
    ]


def test_function_calls_join_the_assistant_message_before_them() -> None:
    said = {"role": "assistant", "content": "let me look"}
    assert messages(USER, said, call("c1"), output("c1"), call("c2"))[1:] == [
        {"role": "assistant", "content": "let me look", "tool_calls": [tool_call("c1")]},
        {"role": "tool", "tool_call_id": "c1", "content": "ok"},
        {"role": "assistant", "content": None, "tool_calls": [tool_call("c2")]},
    ]


def test_a_function_call_output_as_parts() -> None:
    parts = [{"type": "input_text", "text": "a"}, {"type": "input_text", "text": "b"}]
    assert messages(USER, call("c"), output("c", parts))[-1] == {
        "role": "tool",
        "tool_call_id": "c",
        "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
    }
    with pytest.raises(InvalidRequestError) as caught:
        messages(USER, call("c"), output("c", [{"type": "input_image", "image_url": "u"}]))
    assert caught.value.param == "input[2].output[0].type"


def test_history_comes_before_the_input() -> None:
    body = {"model": "m", "input": [output("c1")], "instructions": "x"}
    history: list[InputItem] = [
        MessageItem(role="user", content="hi"),
        FunctionCallItem(call_id="c1", name="f", arguments="{}"),
    ]
    assert chat_request(check_request(body), body, history=history)["messages"] == [
        {"role": "system", "content": "x"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": None, "tool_calls": [tool_call("c1")]},
        {"role": "tool", "tool_call_id": "c1", "content": "ok"},
    ]


def test_no_input_and_no_instructions_is_refused() -> None:
    for body in ({"model": "m"}, {"model": "m", "input": []}):
        with pytest.raises(InvalidRequestError) as caught:
            chat_request(check_request(body), body)
        assert caught.value.param == "input"


def test_function_tools_get_chats_wrapper() -> None:
    tools = [
        {
            "type": "function",
            "name": "f",
            "description": "d",
            "parameters": {"type": "object"},
            "strict": True,
        },
        {"type": "function", "name": "g"},
    ]
    sent = chat(input="x", tools=tools, parallel_tool_calls=False)
    assert sent["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "f",
                "description": "d",
                "parameters": {"type": "object"},
                "strict": True,
            },
        },
        {"type": "function", "function": {"name": "g"}},
    ]
    assert sent["parallel_tool_calls"] is False


def test_parallel_tool_calls_without_tools_is_not_sent() -> None:
    assert "parallel_tool_calls" not in chat(input="x", parallel_tool_calls=True)


def test_file_search_is_left_to_the_gateway() -> None:
    sent = chat(
        input="x",
        tools=[{"type": "file_search", "vector_store_ids": ["vs_1"]}],
        tool_choice={"type": "file_search"},
        parallel_tool_calls=False,
    )
    assert "tools" not in sent
    assert "tool_choice" not in sent
    assert "parallel_tool_calls" not in sent
    kept = chat(
        input="x",
        tools=[
            {"type": "file_search", "vector_store_ids": ["vs_1"]},
            {"type": "function", "name": "f"},
        ],
    )
    assert kept["tools"] == [{"type": "function", "function": {"name": "f"}}]


def test_earlier_file_search_calls_are_not_shown_to_the_model() -> None:
    sent = chat(
        input=[
            {"role": "user", "content": "q"},
            {"type": "file_search_call", "id": "fs_1", "queries": ["q"], "status": "completed"},
            {"role": "assistant", "content": [{"type": "output_text", "text": "a [1]"}]},
            {"role": "user", "content": "more"},
        ]
    )
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("none", "none"),
        ("auto", "auto"),
        ("required", "required"),
        ({"type": "function", "name": "f"}, {"type": "function", "function": {"name": "f"}}),
        (
            {
                "type": "allowed_tools",
                "mode": "required",
                "tools": [{"type": "function", "name": "f"}],
            },
            {
                "type": "allowed_tools",
                "allowed_tools": {
                    "mode": "required",
                    "tools": [{"type": "function", "function": {"name": "f"}}],
                },
            },
        ),
    ],
)
def test_tool_choice(choice: Any, expected: Any) -> None:
    assert chat(input="x", tool_choice=choice)["tool_choice"] == expected


@pytest.mark.parametrize(
    ("choice", "param"),
    [
        ({"type": "function"}, "tool_choice.name"),
        ({"type": "web_search"}, "tool_choice.type"),
        ({"type": "allowed_tools", "tools": "f"}, "tool_choice.tools"),
        ({"type": "allowed_tools", "tools": [{"type": "web_search"}]}, "tool_choice.tools[0]"),
    ],
)
def test_tool_choices_chat_cannot_take(choice: Any, param: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        chat(input="x", tool_choice=choice)
    assert caught.value.param == param


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ({"type": "text"}, {"type": "text"}),
        ({"type": "json_object"}, {"type": "json_object"}),
        (
            {
                "type": "json_schema",
                "name": "s",
                "schema": {"type": "object"},
                "strict": True,
                "description": "d",
            },
            {
                "type": "json_schema",
                "json_schema": {
                    "name": "s",
                    "schema": {"type": "object"},
                    "strict": True,
                    "description": "d",
                },
            },
        ),
    ],
)
def test_text_format_is_response_format(fmt: dict[str, Any], expected: dict[str, Any]) -> None:
    assert chat(input="x", text={"format": fmt})["response_format"] == expected


@pytest.mark.parametrize(
    ("fmt", "param"),
    [
        ({"type": "json_schema", "schema": {}}, "text.format.name"),
        ({"type": "json_schema", "name": "s"}, "text.format.schema"),
    ],
)
def test_json_schema_needs_name_and_schema(fmt: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        chat(input="x", text={"format": fmt})
    assert caught.value.param == param


def test_scalar_fields() -> None:
    sent = chat(
        input="x",
        max_output_tokens=50,
        temperature=0.2,
        top_p=0.5,
        top_logprobs=3,
        metadata={"k": "v"},
        user="u",
        safety_identifier="s",
        reasoning={"effort": "high", "summary": "auto"},
        text={"verbosity": "low"},
    )
    assert sent == {
        "model": "m",
        "messages": [{"role": "user", "content": "x"}],
        "max_completion_tokens": 50,
        "temperature": 0.2,
        "top_p": 0.5,
        "logprobs": True,
        "top_logprobs": 3,
        "metadata": {"k": "v"},
        "user": "u",
        "safety_identifier": "s",
        "reasoning_effort": "high",
        "verbosity": "low",
    }


def test_stream_asks_for_usage() -> None:
    sent = chat(input="x", stream=True)
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}
    assert "stream" not in chat(input="x", stream=False)


def test_gateway_side_fields_are_not_forwarded_and_unknown_ones_are() -> None:
    sent = chat(
        input="x",
        store=True,
        previous_response_id="resp_1",
        include=["file_search_call.results"],
        truncation="disabled",
        background=False,
        stream_options={"include_obfuscation": False},
        max_tool_calls=3,
        service_tier="flex",
        prompt_cache_key="k",
    )
    assert sent == {
        "model": "m",
        "messages": [{"role": "user", "content": "x"}],
        "service_tier": "flex",
        "prompt_cache_key": "k",
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [("conversation", "conv_1"), ("prompt", {"id": "pmpt_1"})],
)
def test_what_chat_cannot_do_is_refused(field: str, value: Any) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        chat(input="x", **{field: value})
    assert caught.value.param == field
