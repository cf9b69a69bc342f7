"""The OpenAI adapter's Responses operation against the fake OpenAI server's ``/responses``."""

from __future__ import annotations

import json
from typing import Any

import pydantic
import pytest
from openai.types.responses import Response, ResponseStreamEvent

from gateway.providers import (
    AzureOpenAIProvider,
    OpenAIProvider,
    ProviderRegistry,
    Target,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from gateway.providers.http import HttpClient
from tests.gateway.providers.openai.conftest import target
from tests.support.fake_openai import FakeOpenAI

BODY: dict[str, Any] = {"model": "m", "input": "hi you", "store": False}
TOOL = {"type": "function", "name": "search", "parameters": {"type": "object"}}
EVENTS: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(ResponseStreamEvent)


async def events(provider: OpenAIProvider, fake: FakeOpenAI, body: dict[str, Any]) -> list[Any]:
    return [e async for e in provider.stream_responses(target(fake), {**body, "stream": True})]


async def test_a_response_object_comes_back_as_sent(client: HttpClient, fake: FakeOpenAI) -> None:
    answer = await OpenAIProvider(client=client).responses(target(fake), BODY)
    response = Response.model_validate(answer)
    assert response.output_text == "echo: hi you"
    assert response.usage is not None
    assert response.usage.input_tokens == 2
    sent = fake.requests[-1]
    assert (sent.path, sent.body) == ("/v1/responses", BODY)
    assert sent.headers["authorization"] == "Bearer k"


async def test_a_stream_yields_each_event_as_a_dict(client: HttpClient, fake: FakeOpenAI) -> None:
    got = await events(OpenAIProvider(client=client), fake, BODY)
    for event in got:
        EVENTS.validate_python(event)
    kinds = [event["type"] for event in got]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e["sequence_number"] for e in got] == list(range(len(got)))
    text = "".join(e["delta"] for e in got if e["type"] == "response.output_text.delta")
    assert text == "echo: hi you"


async def test_a_tool_round_trip_ends(client: HttpClient, fake: FakeOpenAI) -> None:
    provider = OpenAIProvider(client=client)
    first = Response.model_validate(
        await provider.responses(target(fake), {**BODY, "tools": [TOOL]})
    )
    (call,) = first.output
    assert call.type == "function_call"
    assert (call.name, json.loads(call.arguments)) == ("search", {"q": "hi you"})
    streamed = await events(provider, fake, {**BODY, "tools": [TOOL]})
    arguments = "".join(
        e["delta"] for e in streamed if e["type"] == "response.function_call_arguments.delta"
    )
    assert json.loads(arguments) == {"q": "hi you"}
    follow_up = [
        {"role": "user", "content": "hi you"},
        {"type": "function_call", "call_id": call.call_id, "name": "search", "arguments": "{}"},
        {"type": "function_call_output", "call_id": call.call_id, "output": "3 results"},
    ]
    second = await provider.responses(target(fake), {**BODY, "input": follow_up, "tools": [TOOL]})
    assert Response.model_validate(second).output_text == "echo: 3 results"


async def _drain(
    client: HttpClient, to: Target, body: dict[str, Any], into: list[str] | None = None
) -> None:
    """Read a whole stream, keeping the event types in ``into``."""
    stream = OpenAIProvider(client=client).stream_responses(to, {**body, "stream": True})
    async for event in stream:
        if into is not None:
            into.append(event["type"])


_FAILURES = [
    ("500", UpstreamStatusError, 500),
    ("429", UpstreamStatusError, 429),
    ("400", UpstreamStatusError, 400),
    ("slow", UpstreamTimeoutError, None),
]


@pytest.mark.parametrize(
    ("fault", "error", "status", "stream"),
    [(*case, False) for case in [*_FAILURES, ("invalid-json", UpstreamProtocolError, None)]]
    + [(*case, True) for case in _FAILURES],
)
async def test_failures_map_as_for_chat(
    client: HttpClient,
    fake: FakeOpenAI,
    fault: str,
    error: type[Exception],
    status: int | None,
    stream: bool,
) -> None:
    fake.script(fault)
    to = target(fake, timeout_s=0.3)
    call = _drain(client, to, BODY) if stream else OpenAIProvider(client=client).responses(to, BODY)
    with pytest.raises(error) as caught:
        await call
    if isinstance(caught.value, UpstreamStatusError):
        assert caught.value.status_code == status
        assert caught.value.retryable is (status != 400)
        assert "fake upstream" not in caught.value.message  # the upstream's words stay out
    if status == 429:
        assert isinstance(caught.value, UpstreamStatusError)
        assert caught.value.retry_after_s == 7.0


@pytest.mark.parametrize("fault", ["stream-error", "stream-failed"])
async def test_an_error_event_mid_stream_raises_after_the_events_before_it(
    client: HttpClient, fake: FakeOpenAI, fault: str
) -> None:
    fake.script(fault)
    got: list[str] = []
    with pytest.raises(UpstreamStatusError) as caught:
        await _drain(client, target(fake), BODY, into=got)
    assert got == ["response.created", "response.in_progress"]
    assert caught.value.status_code == 502
    assert caught.value.code == "server_error"
    assert caught.value.message == "d1 answered an error event (server_error)"


async def test_only_the_openai_adapter_speaks_responses(client: HttpClient) -> None:
    assert "responses" in OpenAIProvider.capabilities
    assert "responses" not in AzureOpenAIProvider.capabilities
    registry = ProviderRegistry.open(["openai", "azure"], client=client)
    assert registry.serves("openai", "responses")
    assert not registry.serves("azure", "responses")
    assert isinstance(registry.responses("openai"), OpenAIProvider)
    with pytest.raises(LookupError):
        registry.responses("azure")


async def test_the_chat_fake_answers_a_tool_result_instead_of_calling_again(
    client: HttpClient, fake: FakeOpenAI
) -> None:
    messages = [
        {"role": "user", "content": "hi"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "42"},
    ]
    tools = [{"type": "function", "function": {"name": "f"}}]
    answer = await OpenAIProvider(client=client).chat(
        target(fake), {"model": "m", "messages": messages, "tools": tools}
    )
    assert answer["choices"][0]["message"]["content"] == "echo: 42"
    assert answer["choices"][0]["finish_reason"] == "stop"
