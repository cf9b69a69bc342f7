"""Tool schemas too costly to check (issue 16, finding 1: nothing stalls the event loop),
through the running gateway with the official ``openai`` client: over a limit is a 400
naming the rule; a schema under the limits that is still slow to check against the
model's arguments blocks that call within its budget, audited, while ``/healthz`` answers."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import httpx
import openai
import pytest

from tests.gateway.tools.test_gateway_hardening import _audited, weather_with

REDOS = "^(a|a)*$"  # backtracks exponentially in re and in regex alike
HOSTILE_CITY = "a" * 24 + "!"  # re: over a second; regex stops at the deadline


def _chain(levels: int) -> dict[str, Any]:
    """``anyOf`` of two references to the next level: 2**levels subschemas at one value."""
    defs: dict[str, Any] = {
        f"d{i}": {"anyOf": [{"$ref": f"#/$defs/d{i + 1}"}] * 2} for i in range(levels)
    }
    defs[f"d{levels}"] = {"type": "string"}
    return {"$defs": defs, "properties": {"city": {"$ref": "#/$defs/d0"}}}


def _nested_any_of(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"anyOf": [schema, {"type": "integer"}]}
    return {"properties": {"city": schema}}


@pytest.mark.parametrize(
    ("parameters", "rule"),
    [
        ({"description": "x" * 70_000}, "over the limit of 65536"),
        ({"properties": {f"p{i}": {} for i in range(1_100)}}, "more than 1000 subschemas"),
        (_nested_any_of(9), "nest more than 8 deep"),
        (_chain(12), "more than 1000 subschemas apply to one value"),
        (
            {
                "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"allOf": [{"$ref": "#/$defs/a"}]}},
                "$ref": "#/$defs/a",
            },
            "'$ref' cycle",
        ),
        ({"properties": {"city": {"pattern": "(?:a{1000}){1000}"}}}, "repeats multiply"),
        ({"properties": {"city": {"pattern": "(" * 40 + "a" + ")" * 40}}}, "nests groups"),
        ({"properties": {"city": {"pattern": "a" * 1_001}}}, "longer than 1000"),
        ({"properties": {"city": {"enum": list(range(1_001))}}}, "more than 1000 values"),
        (
            {"patternProperties": {"^c": {}}, "unevaluatedProperties": False},
            "'unevaluatedProperties' cannot be combined",
        ),
    ],
    ids=[
        "size",
        "subschemas",
        "combinator-nesting",
        "ref-fan-out",
        "ref-cycle",
        "repeat-product",
        "group-nesting",
        "pattern-length",
        "enum",
        "unevaluated-patterns",
    ],
)
def test_schemas_over_a_limit_are_refused_naming_the_rule(
    gateway: str, member: str, parameters: dict[str, Any], rule: str
) -> None:
    started = time.perf_counter()
    with pytest.raises(openai.BadRequestError) as caught:
        _client(gateway, member).chat.completions.create(
            model="tools", messages=_asking("Oslo"), tools=[weather_with(parameters)]
        )
    error: Any = caught.value.body
    assert error["param"] == "tools[0].function.parameters"
    assert rule in error["message"]
    assert time.perf_counter() - started < 2


@pytest.mark.parametrize(
    "parameters",
    [
        {"properties": {"city": {"type": "string", "pattern": REDOS}}},
        {"properties": {"city": {"anyOf": [{"pattern": "^b"}, {"pattern": REDOS}]}}},
        {"patternProperties": {"^c": {"pattern": REDOS}}, "additionalProperties": False},
    ],
    ids=["pattern", "in-any-of", "under-pattern-properties"],
)
def test_a_catastrophic_pattern_blocks_the_call_within_its_budget_and_is_audited(
    gateway: str, member: str, database_url: str, parameters: dict[str, Any]
) -> None:
    started = time.perf_counter()
    with pytest.raises(openai.APIStatusError) as caught:
        _client(gateway, member).chat.completions.with_raw_response.create(
            model="tools", messages=_asking(HOSTILE_CITY), tools=[weather_with(parameters)]
        )
    elapsed = time.perf_counter() - started
    assert caught.value.status_code == 502
    assert "could not be checked against its schema" in str(caught.value)
    assert elapsed < 2
    request_id = caught.value.response.headers["x-request-id"]
    assert ("get_weather", "blocked", "response") in _audited(database_url, request_id)


def test_healthz_answers_while_hostile_schemas_are_checked(gateway: str, member: str) -> None:
    parameters = {"properties": {"city": {"type": "string", "pattern": REDOS}}}
    done = threading.Event()

    def attack() -> None:
        while not done.is_set():
            with contextlib.suppress(openai.APIError):
                _client(gateway, member).chat.completions.create(
                    model="tools", messages=_asking(HOSTILE_CITY), tools=[weather_with(parameters)]
                )

    attackers = [threading.Thread(target=attack, daemon=True) for _ in range(4)]
    for thread in attackers:
        thread.start()
    slowest = 0.0
    try:
        time.sleep(0.3)
        with httpx.Client(timeout=30) as http:
            for _ in range(20):
                started = time.perf_counter()
                assert http.get(f"{gateway}/healthz").status_code == 200
                slowest = max(slowest, time.perf_counter() - started)
                time.sleep(0.02)
    finally:
        done.set()
        for thread in attackers:
            thread.join(timeout=60)
    assert slowest < 0.1, f"/healthz took {slowest * 1000:.0f} ms"


def _asking(city: str) -> Any:
    return [{"role": "user", "content": city}]


def _client(gateway: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway}/v1", api_key=key, max_retries=0, timeout=60)
