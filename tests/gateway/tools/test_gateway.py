"""PII and tool checks through the running gateway (``conftest``), with the official
``openai`` client, in front of a capturing upstream (a real loopback server)."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import openai
import pytest

from tests.gateway.tools._stack import WEATHER, client, make_key
from tests.support.fake_capture import CapturingUpstream

EMAIL = "jane.doe@example.com"
PHONE = "212-555-0142"
CARD = "4111 1111 1111 1111"


PROMPT = f"Mail {EMAIL} or call {PHONE}; card {CARD}. Again: {EMAIL}."


def test_external_upstream_never_sees_originals_and_the_client_does(
    gateway: str, member: str, upstream: CapturingUpstream
) -> None:
    upstream.requests.clear()
    answer = client(gateway, member).chat.completions.create(
        model="ext", messages=[{"role": "user", "content": PROMPT}]
    )
    assert answer.choices[0].message.content == f"echo: {PROMPT}"
    wire = upstream.wire()
    for value in (EMAIL, PHONE, CARD):
        assert value not in wire
    assert "<EMAIL_ADDRESS_1>" in wire
    assert "<CREDIT_CARD_1>" in wire


def test_streamed_answers_restore_placeholders_split_over_chunks(
    gateway: str, member: str, upstream: CapturingUpstream
) -> None:
    upstream.requests.clear()
    stream = client(gateway, member).chat.completions.create(
        model="ext", messages=[{"role": "user", "content": PROMPT}], stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == f"echo: {PROMPT}"
    assert EMAIL not in upstream.wire()


def test_local_deployments_get_the_text_as_sent(
    gateway: str, member: str, upstream: CapturingUpstream
) -> None:
    upstream.requests.clear()
    client(gateway, member).chat.completions.create(
        model="loc", messages=[{"role": "user", "content": PROMPT}]
    )
    assert EMAIL in upstream.wire()


def test_embeddings_input_is_masked(gateway: str, member: str, upstream: CapturingUpstream) -> None:
    upstream.requests.clear()
    result = client(gateway, member).embeddings.create(model="embed", input=[f"who is {EMAIL}"])
    assert len(result.data) == 1
    assert upstream.requests[-1]["input"] == ["who is <EMAIL_ADDRESS_1>"]


def test_a_blocking_key_policy_refuses_naming_types_only(
    gateway: str, database_url: str, upstream: CapturingUpstream
) -> None:
    upstream.requests.clear()
    with pytest.raises(openai.BadRequestError) as caught:
        client(gateway, make_key(database_url, pii_policy="block")).chat.completions.create(
            model="ext", messages=[{"role": "user", "content": PROMPT}]
        )
    message = caught.value.body["message"]  # type: ignore[index]
    assert "EMAIL_ADDRESS" in message
    assert EMAIL not in message
    assert upstream.requests == []


def test_offering_a_forbidden_tool_is_403(gateway: str, member: str) -> None:
    forbidden: Any = {"type": "function", "function": {"name": "delete_repo"}}
    with pytest.raises(openai.PermissionDeniedError):
        client(gateway, member).chat.completions.create(
            model="ext", messages=[{"role": "user", "content": "hi"}], tools=[WEATHER, forbidden]
        )


def test_unknown_tool_call_id_is_400(gateway: str, member: str) -> None:
    with pytest.raises(openai.BadRequestError):
        client(gateway, member).chat.completions.create(
            model="ext",
            messages=[
                {"role": "user", "content": "hi"},
                {"role": "tool", "tool_call_id": "call_nope", "content": "42"},
            ],
        )


def test_a_streamed_tool_call_is_blocked_mid_stream(gateway: str, member: str) -> None:
    stream = client(gateway, member).chat.completions.create(
        model="tools",
        messages=[{"role": "user", "content": f"weather for {EMAIL}"}],
        tools=[WEATHER],
        stream=True,
    )
    calls: list[Any] = []

    def read() -> None:
        chunk: Any
        for chunk in stream:
            for choice in chunk.choices:
                calls.extend(choice.delta.tool_calls or ())

    with pytest.raises(openai.APIError) as caught:
        read()
    assert "delete_repo" in str(caught.value)
    assert [c.function.name for c in calls] == ["get_weather"]
    assert json.loads(calls[0].function.arguments) == {"city": f"weather for {EMAIL}"}


def test_decisions_are_audited_and_listed_for_admins(
    gateway: str, member: str, database_url: str
) -> None:
    with pytest.raises(openai.PermissionDeniedError):
        client(gateway, member).chat.completions.create(
            model="tools",
            messages=[{"role": "user", "content": f"to {EMAIL}"}],
            tools=[WEATHER],
        )
    admin = make_key(database_url, role="admin")
    headers = {"Authorization": f"Bearer {admin}"}
    deadline = time.monotonic() + 10
    while True:
        listed = httpx.get(
            f"{gateway}/admin/audit", params={"subject": "delete_repo"}, headers=headers
        )
        assert listed.status_code == 200, listed.text
        if listed.json()["data"] or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    event = listed.json()["data"][0]
    assert event["decision"] == "blocked"
    assert event["reason"].startswith("not_allowed")
    assert len(event["arguments_sha256"]) == 64
    pii = httpx.get(f"{gateway}/admin/audit", params={"kind": "pii"}, headers=headers).json()
    assert pii["data"]
    assert EMAIL not in json.dumps(pii)
    denied = httpx.get(f"{gateway}/admin/audit", headers={"Authorization": f"Bearer {member}"})
    assert denied.status_code == 403


def test_a_rejected_request_is_audited_under_each_forbidden_tool(
    gateway: str, member: str, database_url: str
) -> None:
    """Filtering the trail by a tool finds the requests refused for offering it."""
    offered: Any = [
        WEATHER,
        {"type": "function", "function": {"name": "drop_tables"}},
        {"type": "function", "function": {"name": "wire_money"}},
    ]
    with pytest.raises(openai.PermissionDeniedError):
        client(gateway, member).chat.completions.create(
            model="ext", messages=[{"role": "user", "content": "hi"}], tools=offered
        )
    headers = {"Authorization": f"Bearer {make_key(database_url, role='admin')}"}
    for tool in ("drop_tables", "wire_money"):
        deadline = time.monotonic() + 10
        while True:
            data = httpx.get(
                f"{gateway}/admin/audit",
                params={"subject": tool, "decision": "rejected"},
                headers=headers,
            ).json()["data"]
            if data or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert [event["stage"] for event in data] == ["request"], tool
        assert "drop_tables" in data[0]["reason"]
