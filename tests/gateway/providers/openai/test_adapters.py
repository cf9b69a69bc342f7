"""The OpenAI-compatible and Azure adapters against the fake OpenAI server."""

from __future__ import annotations

import pytest

from gateway.providers import (
    AzureOpenAIProvider,
    OpenAIProvider,
    Target,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from gateway.providers._openai import _chunk
from gateway.providers.http import HttpClient
from tests.gateway.providers.openai.conftest import target
from tests.support.fake_openai import FakeOpenAI

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi you"}]}


async def test_chat_stream_completions_and_embeddings(client: HttpClient, fake: FakeOpenAI) -> None:
    provider = OpenAIProvider(client=client)
    answer = await provider.chat(target(fake), CHAT)
    assert answer["choices"][0]["message"]["content"] == "echo: hi you"
    chunks = [c async for c in provider.stream_chat(target(fake), {**CHAT, "stream": True})]
    assert chunks[0]["object"] == "chat.completion.chunk"
    text = await provider.complete(target(fake), {"model": "m", "prompt": "say"})
    assert text["choices"][0]["text"] == " after say"
    vectors = await provider.embed(
        target(fake),
        {"model": "m", "input": ["a", "b"], "encoding_format": "base64", "dimensions": 4},
    )
    assert [d["index"] for d in vectors["data"]] == [0, 1]
    assert isinstance(vectors["data"][0]["embedding"], str)
    assert fake.requests[0].headers["authorization"] == "Bearer k"


@pytest.mark.parametrize(
    ("fault", "error", "retryable"),
    [
        ("500", UpstreamStatusError, True),
        ("429", UpstreamStatusError, True),
        ("400", UpstreamStatusError, False),
        ("invalid-json", UpstreamProtocolError, True),
        ("slow", UpstreamTimeoutError, True),
    ],
)
async def test_failures_become_upstream_errors(
    client: HttpClient, fake: FakeOpenAI, fault: str, error: type[Exception], retryable: bool
) -> None:
    fake.script(fault)
    with pytest.raises(error) as caught:
        await OpenAIProvider(client=client).chat(target(fake, timeout_s=0.3), CHAT)
    assert isinstance(caught.value, UpstreamError)
    assert caught.value.retryable is retryable
    if fault == "429":
        assert isinstance(caught.value, UpstreamStatusError)
        assert caught.value.retry_after_s == 7
    if fault == "400":
        assert isinstance(caught.value, UpstreamStatusError)
        assert caught.value.detail == "the fake upstream rejects this"
        assert caught.value.param == "temperature"
        assert "rejects" not in caught.value.message  # the message, for logs, is our own


async def test_azure_uses_deployment_urls_api_version_and_api_key(
    client: HttpClient, fake: FakeOpenAI
) -> None:
    provider = AzureOpenAIProvider(client=client)
    base = fake.base_url.removesuffix("/v1")
    azure = Target(
        deployment="az",
        base_url=base,
        upstream_model="my-gpt",
        api_key="az-key",
        api_version="2024-10-21",
    )
    await provider.chat(azure, CHAT)
    received = fake.requests[-1]
    assert received.path == "/openai/deployments/my-gpt/chat/completions?api-version=2024-10-21"
    assert received.headers["api-key"] == "az-key"
    assert "authorization" not in received.headers


def test_a_stream_error_event_keeps_upstream_text_out_of_the_message() -> None:
    """vLLM reports some failures as an error event; its text may quote the prompt."""
    event = b'{"error": {"message": "prompt was: walrus; key sk-abcdef123456", "code": 400}}'
    with pytest.raises(UpstreamStatusError) as caught:
        _chunk(event, Target(deployment="d", base_url="http://x", upstream_model="m"))
    assert caught.value.message == "d answered an error event"
    assert caught.value.detail == "prompt was: walrus; key [redacted]"
