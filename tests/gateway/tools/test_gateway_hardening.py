"""Tool checks an attacker probed (issue 16), through the running gateway with the official
``openai`` client: schemas that would make the gateway fetch URLs, request shapes that
slipped past the permission check, and a streamed legacy ``function_call``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import openai
import psycopg
import pytest

from tests.gateway.tools._legacy_upstream import ARGUMENTS, LegacyUpstream
from tests.gateway.tools._stack import WEATHER, CountingListener, client
from tests.support.fake_capture import CapturingUpstream

HI: Any = [{"role": "user", "content": "hi"}]


@pytest.fixture
def listener() -> Iterator[CountingListener]:
    with CountingListener() as up:
        yield up


def weather_with(parameters: dict[str, Any]) -> Any:
    return {"type": "function", "function": {"name": "get_weather", "parameters": parameters}}


def _city(ref: str) -> dict[str, Any]:
    return {"type": "object", "properties": {"city": {"$ref": ref}}}


@pytest.mark.parametrize(
    "parameters",
    [
        lambda url: _city(f"{url}/city.json"),
        lambda url: {"type": "object", "properties": {"city": {"$dynamicRef": f"{url}/c"}}},
        lambda url: {"$id": f"{url}/root.json", "properties": {"city": {"$ref": "city.json"}}},
        lambda url: {"$id": f"{url}/", **_city("#/$defs/city"), "$defs": {"city": {}}},
        lambda url: {"$schema": f"{url}/meta", **_city("#/$defs/city"), "$defs": {"city": {}}},
        lambda url: _city("file:///etc/passwd"),
    ],
    ids=["remote-ref", "dynamic-ref", "relative-ref-under-id", "remote-id", "schema", "file"],
)
def test_schemas_that_reach_outside_are_refused_and_nothing_is_fetched(
    gateway: str,
    member: str,
    upstream: CapturingUpstream,
    listener: CountingListener,
    parameters: Any,
) -> None:
    upstream.requests.clear()
    with pytest.raises(openai.BadRequestError) as caught:
        client(gateway, member).chat.completions.create(
            model="tools", messages=HI, tools=[weather_with(parameters(listener.url))]
        )
    error: Any = caught.value.body
    assert error["param"] == "tools[0].function.parameters"
    assert "get_weather" in error["message"]
    assert listener.hits == []
    assert upstream.requests == []


def test_local_references_still_validate(
    gateway: str, member: str, upstream: CapturingUpstream
) -> None:
    upstream.requests.clear()
    parameters = {**_city("#/$defs/city"), "$defs": {"city": {"type": "string"}}}
    with pytest.raises(openai.PermissionDeniedError) as caught:  # the upstream's delete_repo
        client(gateway, member).chat.completions.create(
            model="tools", messages=HI, tools=[weather_with(parameters)]
        )
    assert "delete_repo" in str(caught.value), "get_weather passed its schema"
    assert len(upstream.requests) == 1
    with pytest.raises(openai.BadRequestError):
        client(gateway, member).chat.completions.create(
            model="tools", messages=HI, tools=[weather_with(_city("#/$defs/nowhere"))]
        )


def _assistant_call(name: str, arguments: str = "{}") -> list[Any]:
    call = {"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}}
    return [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "done"},
    ]


DELETE: Any = {"name": "delete_repo", "parameters": {"type": "object"}}


def _nested_schema(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


CALL_DELETE: Any = {"name": "delete_repo", "arguments": "{}"}
DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        ({"tools": [{"type": "Function", "function": DELETE}]}, 400),
        ({"tools": [{"type": "FUNCTION", "function": DELETE}]}, 400),
        ({"functions": DELETE}, 400),
        ({"functions": 1}, 400),
        ({"tools": [WEATHER], "tool_choice": {"type": "function", "name": "delete_repo"}}, 400),
        (
            {
                "tools": [WEATHER],
                "tool_choice": {
                    "type": "allowed_tools",
                    "allowed_tools": {
                        "mode": "required",
                        "tools": [{"type": "function", "function": {"name": "delete_repo"}}],
                    },
                },
            },
            403,
        ),
        ({"messages": _assistant_call("delete_repo")}, 403),
        (
            {
                "messages": [
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": None, "function_call": CALL_DELETE},
                ]
            },
            403,
        ),
        ({"messages": _assistant_call("get_weather", DEEP)}, 400),
        ({"tools": [weather_with(_nested_schema(300))]}, 400),
    ],
    ids=[
        "type-Function",
        "type-FUNCTION",
        "functions-object",
        "functions-1",
        "responses-style-choice",
        "allowed-tools",
        "history-tool-call",
        "history-function-call",
        "deep-history-arguments",
        "deep-parameters",
    ],
)
def test_every_tool_shape_is_checked_or_refused(
    gateway: str, member: str, upstream: CapturingUpstream, extra: dict[str, Any], status: int
) -> None:
    upstream.requests.clear()
    body = {"messages": HI, **extra}
    with pytest.raises(openai.APIStatusError) as caught:
        client(gateway, member).chat.completions.create(
            model="ext", messages=body.pop("messages"), extra_body=body
        )
    assert caught.value.status_code == status
    error: Any = caught.value.body
    assert error["type"] == "invalid_request_error"
    assert error["param"]
    assert upstream.requests == []


def _audited(database_url: str, request_id: str) -> list[tuple[str, str, str]]:
    deadline = time.monotonic() + 10
    while True:
        with psycopg.connect(database_url) as conn:
            rows = conn.execute(
                "SELECT subject, decision, stage FROM audit_events WHERE request_id = %s",
                (request_id,),
            ).fetchall()
        if rows or time.monotonic() > deadline:
            return [(str(a), str(b), str(c)) for a, b, c in rows]
        time.sleep(0.05)


def test_a_streamed_legacy_function_call_is_judged_audited_and_stopped(
    gateway: str, member: str, database_url: str, legacy_upstream: LegacyUpstream
) -> None:
    stream = client(gateway, member).chat.completions.create(
        model="legacy",
        messages=[{"role": "user", "content": "delete_repo"}],
        extra_body={"functions": [{"name": "get_weather"}]},
        stream=True,
    )
    request_id = stream.response.headers["x-request-id"]
    finishes: list[str | None] = []

    def read() -> None:
        chunk: Any
        for chunk in stream:
            for choice in chunk.choices:
                assert choice.delta.function_call is None, "the forbidden call reached the client"
                finishes.append(choice.finish_reason)

    with pytest.raises(openai.APIError) as caught:
        read()
    assert "delete_repo" in str(caught.value)
    assert "stop" not in finishes
    assert _audited(database_url, request_id) == [("delete_repo", "blocked", "response")]


def test_an_allowed_streamed_legacy_function_call_arrives_whole(
    gateway: str, member: str, database_url: str, legacy_upstream: LegacyUpstream
) -> None:
    stream = client(gateway, member).chat.completions.create(
        model="legacy",
        messages=[{"role": "user", "content": "get_weather"}],
        extra_body={"functions": [{"name": "get_weather"}]},
        stream=True,
    )
    request_id = stream.response.headers["x-request-id"]
    name, arguments, finish = "", "", None
    chunk: Any
    for chunk in stream:
        for choice in chunk.choices:
            if choice.delta.function_call is not None:
                name += choice.delta.function_call.name or ""
                arguments += choice.delta.function_call.arguments or ""
            finish = choice.finish_reason or finish
    assert (name, arguments, finish) == ("get_weather", ARGUMENTS, "function_call")
    assert _audited(database_url, request_id) == [("get_weather", "allowed", "response")]
