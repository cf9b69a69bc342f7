"""Upstream failures -> the provider contract's errors, with ``retryable`` set for fallback."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from gateway.providers import (
    Target,
    UpstreamConnectError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from gateway.providers.anthropic import AnthropicProvider
from tests.gateway.providers.anthropic.helpers import user
from tests.support.fake_anthropic import ErrorReply, FakeAnthropic, Reply, Text
from tests.support.net import free_port

BODY: dict[str, Any] = {"model": "alias", "messages": [user("hi")]}


async def stream_until_error(
    provider: AnthropicProvider, target: Target
) -> tuple[list[dict[str, Any]], UpstreamError]:
    """The chunks a stream yielded before it failed, and its error."""
    chunks: list[dict[str, Any]] = []
    try:
        async for chunk in provider.stream_chat(target, dict(BODY, stream=True)):
            chunks.append(chunk)
    except UpstreamError as exc:
        return chunks, exc
    raise AssertionError(f"the stream ended without an error after {len(chunks)} chunks")


async def failure(
    provider: AnthropicProvider, target: Target, *, stream: bool
) -> tuple[list[dict[str, Any]], UpstreamError]:
    """A streaming or non-streaming call's error (and the chunks sent before it)."""
    if stream:
        return await stream_until_error(provider, target)
    try:
        await provider.chat(target, dict(BODY))
    except UpstreamError as exc:
        return [], exc
    raise AssertionError("the call succeeded")


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("reply", "status", "retryable", "retry_after"),
    [
        (ErrorReply(500, "api_error", "Internal server error"), 500, True, None),
        (ErrorReply(529, "overloaded_error", "Overloaded"), 529, True, None),
        (ErrorReply(429, "rate_limit_error", "slow down", retry_after="7"), 429, True, 7.0),
        (ErrorReply(400, "invalid_request_error", "prompt is too long"), 400, False, None),
    ],
)
async def test_http_errors_keep_status_message_and_retry_policy(
    provider: AnthropicProvider,
    target: Target,
    fake: FakeAnthropic,
    stream: bool,
    reply: ErrorReply,
    status: int,
    retryable: bool,
    retry_after: float | None,
) -> None:
    fake.enqueue(reply)

    chunks, error = await failure(provider, target, stream=stream)

    assert chunks == []

    assert isinstance(error, UpstreamStatusError)
    assert error.status_code == status
    assert error.retryable is retryable
    assert error.retry_after_s == retry_after
    assert error.message == f"claude-test answered HTTP {status} ({reply.error_type})"
    assert (error.error_type, error.detail) == (reply.error_type, reply.message)
    assert error.deployment == "claude-test"


async def test_a_wrong_api_key_is_anthropics_401_and_not_retryable(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic
) -> None:
    with pytest.raises(UpstreamStatusError) as caught:
        await provider.chat(dataclasses.replace(target, api_key="wrong"), dict(BODY))

    assert (caught.value.status_code, caught.value.retryable) == (401, False)
    assert "authentication_error" in caught.value.message


async def test_invalid_json_is_a_protocol_error(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic
) -> None:
    fake.enqueue(Reply(invalid_json=True), Reply(invalid_json=True))

    with pytest.raises(UpstreamProtocolError, match="invalid message"):
        await provider.chat(target, dict(BODY))
    chunks, error = await stream_until_error(provider, target)

    assert isinstance(error, UpstreamProtocolError)
    assert "invalid stream event" in error.message
    assert chunks == []  # the broken event came before any content: still retryable
    assert error.retryable


@pytest.mark.parametrize("stream", [False, True])
async def test_slow_first_byte_past_the_timeout(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic, stream: bool
) -> None:
    fake.enqueue(Reply(first_byte_delay_s=1.0))
    quick = dataclasses.replace(target, timeout_s=0.2)

    chunks, error = await failure(provider, quick, stream=stream)

    assert chunks == []

    assert isinstance(error, UpstreamTimeoutError)
    assert error.retryable


async def test_connection_refused(provider: AnthropicProvider, target: Target) -> None:
    nowhere = dataclasses.replace(target, base_url=f"http://127.0.0.1:{free_port()}")

    with pytest.raises(UpstreamConnectError) as caught:
        await provider.chat(nowhere, dict(BODY))

    assert caught.value.retryable


async def test_reset_mid_stream_ends_the_stream_with_an_error_after_chunks(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic
) -> None:
    # paced, so the client has read every event before the RST arrives
    text = Text("abcdefghijklmnop")
    fake.enqueue(Reply(content=(text,), delta_chars=2, reset_after_events=6, event_delay_s=0.05))

    chunks, error = await stream_until_error(provider, target)

    assert isinstance(error, UpstreamConnectError | UpstreamProtocolError)
    assert "mid-response" in error.message
    assert [c["choices"][0]["delta"].get("content") for c in chunks] == ["", "ab", "cd", "ef"]


async def test_error_event_mid_stream_after_chunks(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic
) -> None:
    fake.enqueue(Reply(content=(Text("abcdefgh"),), delta_chars=2, error_after_events=5))

    chunks, error = await stream_until_error(provider, target)

    assert [c["choices"][0]["delta"].get("content") for c in chunks] == ["", "ab", "cd"]
    assert isinstance(error, UpstreamStatusError)
    assert error.status_code == 529
    assert "overloaded_error" in error.message


async def test_error_event_before_content_yields_nothing_so_the_router_may_fall_back(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic
) -> None:
    # message_start and ping arrive, then the error: the role chunk was held back
    fake.enqueue(Reply(error_after_events=2, error_type="api_error"))

    chunks, error = await stream_until_error(provider, target)

    assert chunks == []
    assert isinstance(error, UpstreamStatusError)
    assert (error.status_code, error.retryable) == (500, True)


async def test_stream_that_ends_without_message_stop(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic
) -> None:
    fake.enqueue(Reply(content=(Text("abcd"),), delta_chars=2, end_after_events=5))

    chunks, error = await stream_until_error(provider, target)

    assert len(chunks) == 3
    assert isinstance(error, UpstreamProtocolError)
    assert "ended before message_stop" in error.message


async def test_connections_are_reused_after_errors(
    provider: AnthropicProvider, target: Target, fake: FakeAnthropic
) -> None:
    fake.enqueue(ErrorReply(529, "overloaded_error"))
    with pytest.raises(UpstreamStatusError):
        await provider.chat(target, dict(BODY))
    result = await provider.chat(target, dict(BODY))

    assert result["choices"][0]["message"]["content"] == "echo: hi"
