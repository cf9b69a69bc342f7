"""check_request: what a Responses body may hold, and the 400 (with ``param``) for what not."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.api.openai.responses import chat_request, check_request
from gateway.platform.errors import InvalidRequestError

FULL: dict[str, Any] = {
    "model": "m",
    "instructions": "be brief",
    "input": [
        {"role": "user", "content": "hi"},
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "look"},
                {"type": "input_image", "image_url": "https://x/a.png", "detail": "low"},
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
            "content": [{"type": "output_text", "text": "ok", "annotations": []}],
        },
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "42"},
    ],
    "tools": [
        {"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": True},
    ],
    "tool_choice": {"type": "function", "name": "f"},
    "parallel_tool_calls": False,
    "text": {"format": {"type": "json_schema", "name": "s", "schema": {"type": "object"}}},
    "max_output_tokens": 100,
    "temperature": 0.5,
    "top_p": 0.9,
    "metadata": {"k": "v"},
    "store": False,
    "previous_response_id": None,
    "include": ["file_search_call.results"],
    "reasoning": {"effort": "low"},
    "user": "u",
    "safety_identifier": "s",
    "stream": True,
    "service_tier": "auto",
}


def test_a_full_request_is_accepted_and_the_body_is_left_alone() -> None:
    before = copy.deepcopy(FULL)
    request = check_request(FULL)
    assert before == FULL  # the type added to the easy message is on a copy
    assert request.model == "m"
    assert isinstance(request.input, list)
    assert len(request.input) == 5


@pytest.mark.parametrize(
    "body",
    [
        {"model": "m", "input": "hi"},
        {"model": "m", "instructions": "x"},
        {"model": "m", "input": [], "instructions": "x"},
        {"model": "m", "input": [{"role": "developer", "content": "x"}], "unknown": {"a": 1}},
        {
            "model": "m",
            "input": "x",
            "tools": [{"type": "file_search", "vector_store_ids": ["vs"]}],
        },
        {"model": "m", "input": "x", "tool_choice": "required"},
        {"model": "m", "input": "x", "text": {"format": {"type": "json_object"}}},
    ],
)
def test_accepted(body: dict[str, Any]) -> None:
    check_request(body)


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"input": "x"}, "model", "missing_required_parameter"),
        ({"model": "m", "input": 3}, "input", "invalid_type"),
        ({"model": "m", "input": [{"type": "nope"}]}, "input[0].type", "invalid_value"),
        ({"model": "m", "input": ["x", {"type": 7}]}, "input[0]", "invalid_type"),
        (
            {"model": "m", "input": [{"role": "user", "content": "x"}, {"type": 7}]},
            "input[1].type",
            "invalid_value",
        ),
        (
            {"model": "m", "input": [{"content": "x"}]},
            "input[0].type",
            "missing_required_parameter",
        ),
        (
            {"model": "m", "input": [{"type": "reasoning", "summary": []}]},
            "input[0].type",
            "unsupported_value",
        ),
        (
            {"model": "m", "input": [{"type": "item_reference", "id": "x"}]},
            "input[0].type",
            "unsupported_value",
        ),
        (
            {"model": "m", "input": [{"role": "robot", "content": "x"}]},
            "input[0].role",
            "invalid_value",
        ),
        (
            {"model": "m", "input": [{"role": "user"}]},
            "input[0].content",
            "missing_required_parameter",
        ),
        (
            {"model": "m", "input": [{"role": "user", "content": [{"type": "audio"}]}]},
            "input[0].content[0].type",
            "invalid_value",
        ),
        (
            {"model": "m", "input": [{"role": "user", "content": [{"text": "x"}]}]},
            "input[0].content[0].type",
            "missing_required_parameter",
        ),
        (
            {"model": "m", "input": [{"role": "user", "content": [{"type": "input_text"}]}]},
            "input[0].content[0].text",
            "missing_required_parameter",
        ),
        (
            {
                "model": "m",
                "input": [{"role": "user", "content": [{"type": "input_text", "text": 1}]}],
            },
            "input[0].content[0].text",
            "invalid_type",
        ),
        (
            {"model": "m", "input": [{"type": "function_call", "name": "f", "arguments": "{}"}]},
            "input[0].call_id",
            "missing_required_parameter",
        ),
        (
            {
                "model": "m",
                "input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": {}}],
            },
            "input[0].arguments",
            "invalid_type",
        ),
        (
            {"model": "m", "input": [{"type": "function_call_output", "call_id": "c"}]},
            "input[0].output",
            "missing_required_parameter",
        ),
        (
            {
                "model": "m",
                "input": [{"type": "function_call_output", "call_id": "c", "output": 5}],
            },
            "input[0].output",
            "invalid_type",
        ),
        (
            {"model": "m", "input": "x", "tools": [{"type": "web_search_preview"}]},
            "tools[0].type",
            "unsupported_value",
        ),
        (
            {"model": "m", "input": "x", "tools": [{"type": "wizard"}]},
            "tools[0].type",
            "invalid_value",
        ),
        (
            {"model": "m", "input": "x", "tools": [{"name": "f"}]},
            "tools[0].type",
            "missing_required_parameter",
        ),
        (
            {"model": "m", "input": "x", "tools": [{"type": "function"}]},
            "tools[0].name",
            "missing_required_parameter",
        ),
        ({"model": "m", "input": "x", "tool_choice": "sometimes"}, "tool_choice", "invalid_value"),
        (
            {"model": "m", "input": "x", "text": {"format": {"type": "yaml"}}},
            "text.format.type",
            "invalid_value",
        ),
        (
            {"model": "m", "input": "x", "max_output_tokens": 0},
            "max_output_tokens",
            "invalid_value",
        ),
        ({"model": "m", "input": "x", "temperature": 3}, "temperature", "invalid_value"),
        ({"model": "m", "input": "x", "metadata": {"k": 1}}, "metadata[...]", "invalid_type"),
        ({"model": "m", "input": "x", "stream": "yes"}, "stream", "invalid_type"),
    ],
)
def test_refused_with_the_param(body: dict[str, Any], param: str, code: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        check_request(body)
    assert caught.value.param == param, caught.value.message
    assert caught.value.code == code, caught.value.message
    assert param in caught.value.message


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _paths(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _paths(inner, (*path, index))


def _replaced(body: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    target: Any = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return changed


WRONG = [None, True, 7, -1.5, "", "text", [], [1, "x"], {}, {"type": "x"}]


def test_a_wrong_value_anywhere_is_a_400_or_accepted_never_another_error() -> None:
    """Every position of a full request, each replaced by values of every JSON type."""
    tried = 0
    refused: list[InvalidRequestError] = []
    for path in _paths(FULL):
        if not path:
            continue
        for value in WRONG:
            body = _replaced(FULL, path, value)
            tried += 1
            try:
                chat_request(check_request(body), body)
            except InvalidRequestError as exc:
                refused.append(exc)
    assert tried > 500
    assert len(refused) > 300
    assert all(exc.message and exc.param for exc in refused)


@pytest.mark.parametrize("item", WRONG)
def test_a_wrong_item_is_a_400_naming_it(item: Any) -> None:
    body = {"model": "m", "input": [{"role": "user", "content": "x"}, item]}
    with pytest.raises(InvalidRequestError) as caught:
        check_request(body)
    assert caught.value.param is not None
    assert caught.value.param.startswith("input[1]")
