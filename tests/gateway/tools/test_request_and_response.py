"""Tool permissions on the way in and on the way out (whole responses and streams)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.platform.errors import InvalidRequestError
from gateway.policy.auth import Principal
from gateway.policy.tools import (
    DeclaredTool,
    ToolCallBlockedError,
    ToolCallGuard,
    ToolCallJudge,
    ToolForbiddenError,
    UnknownToolCallError,
    Verdict,
    check_request_tools,
)
from tests.gateway.tools._stack import CountingListener

MEMBER = Principal(
    key_id="k1", name="m", role="member", display_prefix="rg-", allowed_tools=("get_*",)
)
WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer", "maximum": 14}},
    "required": ["city"],
    "additionalProperties": False,
}


def tool(name: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    function: dict[str, Any] = {"name": name}
    if parameters is not None:
        function["parameters"] = parameters
    return {"type": "function", "function": function}


def body(**extra: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": "hi"}], **extra}


def test_forbidden_tools_are_rejected_or_removed() -> None:
    request = body(
        tools=[tool("get_weather", WEATHER_SCHEMA), tool("delete_repo")], tool_choice="auto"
    )
    with pytest.raises(ToolForbiddenError) as caught:
        check_request_tools(request, MEMBER, on_forbidden="reject")
    assert caught.value.status_code == 403
    assert "delete_repo" in caught.value.message
    result = check_request_tools(request, MEMBER, on_forbidden="remove")
    assert result.removed == ["delete_repo"]
    assert result.allowed == ["get_weather"]
    assert [t["function"]["name"] for t in result.body["tools"]] == ["get_weather"]
    assert len(request["tools"]) == 2, "the client's body is not changed"
    only_forbidden = check_request_tools(
        body(tools=[tool("delete_repo")], tool_choice="required"), MEMBER, on_forbidden="remove"
    )
    assert "tools" not in only_forbidden.body
    assert "tool_choice" not in only_forbidden.body


def test_forcing_a_forbidden_tool_is_refused_even_when_removing() -> None:
    request = body(
        tools=[tool("delete_repo")],
        tool_choice={"type": "function", "function": {"name": "delete_repo"}},
    )
    with pytest.raises(ToolForbiddenError) as caught:
        check_request_tools(request, MEMBER, on_forbidden="remove")
    assert caught.value.param == "tool_choice"
    legacy = body(functions=[{"name": "rm"}], function_call={"name": "rm"})
    with pytest.raises(ToolForbiddenError):
        check_request_tools(legacy, MEMBER, on_forbidden="remove")


def test_tool_messages_must_answer_a_known_call() -> None:
    messages = [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call_9", "content": "rain"},
    ]
    with pytest.raises(UnknownToolCallError) as caught:
        check_request_tools({"model": "m", "messages": messages}, MEMBER, on_forbidden="reject")
    assert caught.value.status_code == 400
    assert caught.value.param == "messages[3].tool_call_id"
    check_request_tools({"model": "m", "messages": messages[:3]}, MEMBER, on_forbidden="reject")


def test_a_schema_that_is_not_json_schema_is_a_bad_request() -> None:
    with pytest.raises(InvalidRequestError):
        check_request_tools(
            body(tools=[tool("get_x", {"type": "nonsense"})]), MEMBER, on_forbidden="reject"
        )


def judge() -> ToolCallJudge:
    declared = check_request_tools(
        body(tools=[tool("get_weather", WEATHER_SCHEMA), tool("get_time")]),
        MEMBER,
        on_forbidden="reject",
    ).declared
    return ToolCallJudge(MEMBER, declared)


@pytest.mark.parametrize(
    ("name", "arguments", "reason"),
    [
        ("get_weather", '{"city": "Oslo", "days": 3}', "ok"),
        ("get_time", "", "ok"),
        ("delete_repo", "{}", "not_allowed"),
        ("get_secret", "{}", "undeclared"),
        ("get_weather", '{"city": "Oslo"', "invalid_json"),
        ("get_weather", '{"city": "Oslo", "days": 30}', "schema"),
        ("get_weather", '{"town": "Oslo"}', "schema"),
    ],
)
def test_judge(name: str, arguments: str, reason: str) -> None:
    verdict = judge().judge(name, arguments)
    assert verdict.reason == reason
    assert verdict.allowed == (reason == "ok")
    assert "Oslo" not in verdict.detail, "audit details never quote argument values"


def response(*calls: tuple[str, str]) -> dict[str, Any]:
    tool_calls = [
        {"id": f"c{i}", "type": "function", "function": {"name": n, "arguments": a}}
        for i, (n, a) in enumerate(calls)
    ]
    message = {"role": "assistant", "content": None, "tool_calls": tool_calls}
    return {"choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}]}


def test_blocked_calls_become_an_error_or_a_refusal() -> None:
    decisions: list[tuple[str, Verdict]] = []
    guard = ToolCallGuard(judge(), mode="error", decide=lambda n, a, v: decisions.append((n, v)))
    with pytest.raises(ToolCallBlockedError) as caught:
        guard.check_response(response(("get_weather", '{"city": "Oslo"}'), ("delete_repo", "{}")))
    assert caught.value.status_code == 403
    assert [(n, v.reason) for n, v in decisions] == [
        ("get_weather", "ok"),
        ("delete_repo", "not_allowed"),
    ]

    refuse = ToolCallGuard(judge(), mode="refuse", decide=lambda n, a, v: None)
    mixed = response(("get_weather", '{"city": "Oslo"}'), ("get_weather", "{bad json"))
    refuse.check_response(mixed)
    message = mixed["choices"][0]["message"]
    assert [c["id"] for c in message["tool_calls"]] == ["c0"]
    assert "get_weather" in message["refusal"]
    assert mixed["choices"][0]["finish_reason"] == "tool_calls"
    only_bad = response(("get_secret", "{}"))
    refuse.check_response(only_bad)
    assert "tool_calls" not in only_bad["choices"][0]["message"]
    assert only_bad["choices"][0]["finish_reason"] == "stop"


def stream(*calls: tuple[str, str], pieces: int = 3) -> list[dict[str, Any]]:
    """A model streaming ``calls`` the way OpenAI does: name first, arguments in pieces."""
    chunks = [
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": "Let me check."},
                    "finish_reason": None,
                }
            ]
        }
    ]
    for i, (name, arguments) in enumerate(calls):
        chunks.append(
            {
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": None,
                        "delta": {
                            "tool_calls": [
                                {
                                    "index": i,
                                    "id": f"call_{i}",
                                    "type": "function",
                                    "function": {"name": name, "arguments": ""},
                                }
                            ]
                        },
                    }
                ]
            }
        )
        step = max(1, len(arguments) // pieces)
        for j in range(0, len(arguments), step):
            chunks.append(
                {
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": None,
                            "delta": {
                                "tool_calls": [
                                    {"index": i, "function": {"arguments": arguments[j : j + step]}}
                                ]
                            },
                        }
                    ]
                }
            )
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    return chunks


def collect(chunks: list[dict[str, Any]]) -> tuple[str, dict[int, dict[str, str]], str | None]:
    content, finish = "", None
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for choice in chunk["choices"]:
            delta = choice["delta"]
            content += delta.get("content") or ""
            for call in delta.get("tool_calls") or ():
                entry = calls.setdefault(call["index"], {"name": "", "arguments": ""})
                entry["name"] += call.get("function", {}).get("name") or ""
                entry["arguments"] += call.get("function", {}).get("arguments") or ""
            finish = choice.get("finish_reason") or finish
    return content, calls, finish


def test_streamed_calls_are_held_until_complete_then_released() -> None:
    guard = ToolCallGuard(judge(), mode="error", decide=lambda n, a, v: None)
    chunks = stream(("get_weather", '{"city": "Oslo", "days": 2}'), ("get_time", '{"tz": "UTC"}'))
    second_call_starts = next(i for i, c in enumerate(chunks) if "call_1" in json.dumps(c))
    released_at = []
    for number, chunk in enumerate(chunks):
        guard.check_chunk(chunk)
        if chunk["choices"][0]["delta"].get("tool_calls"):
            released_at.append(number)
    content, calls, finish = collect(chunks)
    assert content == "Let me check."
    assert finish == "tool_calls"
    assert calls == {
        0: {"name": "get_weather", "arguments": '{"city": "Oslo", "days": 2}'},
        1: {"name": "get_time", "arguments": '{"tz": "UTC"}'},
    }
    assert released_at == [second_call_starts, len(chunks) - 1]


def test_a_stream_calling_a_forbidden_tool_is_stopped_mid_stream() -> None:
    guard = ToolCallGuard(judge(), mode="error", decide=lambda n, a, v: None)
    chunks = stream(("get_weather", '{"city": "Oslo"}'), ("delete_repo", '{"name": "x"}'))
    sent = []

    def relay() -> None:
        for chunk in chunks:
            guard.check_chunk(chunk)
            sent.append(chunk)

    with pytest.raises(ToolCallBlockedError):
        relay()
    _, calls, finish = collect(sent)
    assert [c["name"] for c in calls.values()] == ["get_weather"]
    assert finish is None
    assert len(sent) < len(chunks)


def test_refuse_mode_in_streams_renumbers_and_explains() -> None:
    guard = ToolCallGuard(judge(), mode="refuse", decide=lambda n, a, v: None)
    chunks = stream(("delete_repo", "{}"), ("get_weather", '{"city": 3}'), ("get_time", "{}"))
    for chunk in chunks:
        guard.check_chunk(chunk)
    content, calls, finish = collect(chunks)
    assert calls == {0: {"name": "get_time", "arguments": "{}"}}
    assert "delete_repo" in content
    assert "get_weather" in content
    assert finish == "tool_calls"
    blocked_only = stream(("delete_repo", "{}"))
    guard2 = ToolCallGuard(judge(), mode="refuse", decide=lambda n, a, v: None)
    for chunk in blocked_only:
        guard2.check_chunk(chunk)
    assert collect(blocked_only)[2] == "stop"


def legacy_stream(name: str, arguments: str) -> list[dict[str, Any]]:
    """A model streaming a legacy ``function_call`` (the API before tools)."""

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    return [
        chunk({"role": "assistant", "content": None, "function_call": {"name": name}}),
        *(chunk({"function_call": {"arguments": arguments[i : i + 4]}}) for i in range(0, 20, 4)),
        chunk({}, "function_call"),
    ]


def test_a_streamed_legacy_function_call_is_judged_like_a_tool_call() -> None:
    decisions: list[tuple[str, str, str]] = []
    guard = ToolCallGuard(
        judge(), mode="error", decide=lambda n, a, v: decisions.append((n, a, v.reason))
    )
    chunks = legacy_stream("delete_repo", '{"name": "x"}')
    for chunk in chunks[:-1]:
        guard.check_chunk(chunk)
        assert "function_call" not in chunk["choices"][0]["delta"], "held until complete"
    with pytest.raises(ToolCallBlockedError) as caught:
        guard.check_chunk(chunks[-1])
    assert caught.value.status_code == 403
    assert decisions == [("delete_repo", '{"name": "x"}', "not_allowed")]

    allowed = legacy_stream("get_weather", '{"city": "Oslo"}')
    guard = ToolCallGuard(judge(), mode="error", decide=lambda n, a, v: None)
    for chunk in allowed:
        guard.check_chunk(chunk)
    released = [c["choices"][0] for c in allowed if "function_call" in c["choices"][0]["delta"]]
    assert [c["delta"]["function_call"] for c in released] == [
        {"name": "get_weather", "arguments": '{"city": "Oslo"}'}
    ]
    assert released[0]["finish_reason"] == "function_call"

    refused = legacy_stream("get_secret", "{}")
    guard = ToolCallGuard(judge(), mode="refuse", decide=lambda n, a, v: None)
    for chunk in refused:
        guard.check_chunk(chunk)
    content, _, finish = collect(refused)
    assert "get_secret" in content
    assert finish == "stop"
    assert not any("function_call" in c["choices"][0]["delta"] for c in refused[1:])


def test_a_validator_never_fetches_a_reference() -> None:
    with CountingListener() as listener:
        declared = {
            "get_x": DeclaredTool("get_x", {"properties": {"a": {"$ref": f"{listener.url}/a"}}}),
            "get_y": DeclaredTool("get_y", {"$ref": "file:///etc/passwd"}),
        }
        judging = ToolCallJudge(MEMBER, declared)
        for name in declared:
            verdict = judging.judge(name, '{"a": 1}')
            assert (verdict.allowed, verdict.reason) == (False, "schema")
        assert listener.hits == []


def test_local_references_validate() -> None:
    parameters = {
        "$defs": {"days": {"type": "integer", "maximum": 14}},
        "type": "object",
        "properties": {"days": {"$ref": "#/$defs/days"}},
    }
    declared = check_request_tools(
        body(tools=[tool("get_weather", parameters)]), MEMBER, on_forbidden="reject"
    ).declared
    judging = ToolCallJudge(MEMBER, declared)
    assert judging.judge("get_weather", '{"days": 3}').allowed
    assert judging.judge("get_weather", '{"days": 30}').reason == "schema"


@pytest.mark.parametrize("deep", ["[" * 5000 + "]" * 5000, '{"a":' * 5000 + "1" + "}" * 5000])
def test_arguments_nested_too_deeply_are_blocked_not_a_crash(deep: str) -> None:
    verdict = judge().judge("get_weather", deep)
    assert (verdict.allowed, verdict.reason) == (False, "too_deep")
    assert not verdict.permission


def test_ordinary_large_arguments_pass_within_the_default_budget() -> None:
    """The budget stops hostile schemas, not big honest calls: 2,000 numbers against a plain
    array schema take the metered check ~10 ms; the default 50 ms lets them through."""
    schema = {
        "type": "object",
        "properties": {"values": {"type": "array", "items": {"type": "integer"}}},
    }
    declared = check_request_tools(
        body(tools=[tool("get_weather", schema)]), MEMBER, on_forbidden="reject"
    ).declared
    arguments = json.dumps({"values": list(range(2000))})
    verdict = ToolCallJudge(MEMBER, declared).judge("get_weather", arguments)
    assert (verdict.allowed, verdict.reason) == (True, "ok")
