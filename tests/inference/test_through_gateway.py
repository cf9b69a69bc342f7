"""End to end: the openai client -> the gateway -> a ``trust: local`` deployment on the CPU
inference server (tiny random model, all-MiniLM embeddings), all real servers on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from configs import ProvidersSettings, Settings
from gateway.entry.app import create_app
from inference.embedders import LocalEmbedder
from tests.gateway.api.conftest import insert_key
from tests.inference.conftest import CHAT_MODEL, CONTEXT, EMBED_MODEL
from tests.inference.server_metrics import cancellations, idle, stopped_after
from tests.support.net import wait_until
from tests.support.servers import ServerThread
from tests.support.services import RedisForTests

MESSAGES: list[Any] = [{"role": "user", "content": "Summarise the local-only policy."}]


@pytest.fixture(scope="module")
def gateway(
    settings: Settings, database_url: str, redis_service: RedisForTests, cpu_server: str
) -> Iterator[str]:
    local = {"provider": "openai", "base_url": cpu_server, "trust": "local", "timeout_s": 30}
    providers = ProvidersSettings.model_validate(
        {
            "models": {
                "private-chat": {
                    "deployments": [{"name": "cpu-chat", "model": CHAT_MODEL, **local}]
                },
                "private-embed": {
                    "type": "embedding",
                    "deployments": [{"name": "cpu-embed", "model": EMBED_MODEL, **local}],
                },
            }
        }
    )
    app = create_app(
        settings.model_copy(update={"providers": providers}),
        database_url=database_url,
        redis_url=redis_service.url,
        env={},
    )
    with ServerThread(app) as server:
        yield f"{server.base_url}/v1"


@pytest.fixture(scope="module")
def client(gateway: str, database_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway, api_key=insert_key(database_url), max_retries=0)


@pytest.fixture(scope="module")
def direct(cpu_server: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=cpu_server, api_key="unused", max_retries=0)


KWARGS: dict[str, Any] = {
    "messages": MESSAGES,
    "max_tokens": 20,
    "temperature": 0.7,
    "seed": 42,
    "extra_body": {"ignore_eos": True},
}


def test_chat_through_the_gateway_equals_the_server(
    client: openai.OpenAI, direct: openai.OpenAI
) -> None:
    via = client.chat.completions.create(model="private-chat", **KWARGS)
    own = direct.chat.completions.create(model=CHAT_MODEL, **KWARGS)
    assert via.choices[0].message.content == own.choices[0].message.content
    assert via.choices[0].finish_reason == "length"
    assert via.usage == own.usage


def test_streamed_chat_through_the_gateway(client: openai.OpenAI, direct: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="private-chat", stream=True, stream_options={"include_usage": True}, **KWARGS
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    own = direct.chat.completions.create(model=CHAT_MODEL, **KWARGS)
    assert text == own.choices[0].message.content
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].usage == own.usage


def test_embeddings_through_the_gateway(client: openai.OpenAI) -> None:
    texts = ["private document", "another one"]
    response = client.embeddings.create(model="private-embed", input=texts)
    for row, ref in zip(response.data, LocalEmbedder().embed(texts), strict=True):
        assert max(abs(a - b) for a, b in zip(row.embedding, ref, strict=True)) < 1e-5


def test_server_errors_reach_the_client_in_openai_shape(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="private-chat", messages=MESSAGES, max_tokens=CONTEXT)
    assert "maximum context length" in str(info.value)


def test_client_leaving_the_gateway_stops_generation(
    client: openai.OpenAI, cpu_server: str
) -> None:
    wait_until(lambda: idle(cpu_server), timeout_s=60)
    cancelled = cancellations(cpu_server)
    stream = client.chat.completions.create(
        model="private-chat",
        messages=MESSAGES,
        max_tokens=1500,
        stream=True,
        extra_body={"ignore_eos": True},
    )
    for seen, _ in enumerate(stream):
        if seen == 3:
            break
    stream.close()
    stopped_after(cpu_server, cancelled)
