"""A gateway wired to fake upstreams (real loopback servers) and keys in the real database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import openai
import pytest

from configs import ProvidersSettings, RoutingSettings, Settings
from gateway.api import HTTP_PROTOCOL
from gateway.entry.app import create_app
from tests.support import keys
from tests.support.fake_anthropic import API_KEY as ANTHROPIC_KEY
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.fake_openai import FakeOpenAI
from tests.support.servers import ServerThread
from tests.support.services import RedisForTests

UPSTREAM_KEY = "sk-upstream-" + "x" * 20
ENV = {"FAKE_OPENAI_KEY": UPSTREAM_KEY, "FAKE_ANTHROPIC_KEY": ANTHROPIC_KEY}


def deployment(name: str, base_url: str, model: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "provider": "openai",
        "model": model,
        "base_url": base_url,
        "api_key_env": "FAKE_OPENAI_KEY",
        "timeout_s": 5,
        **extra,
    }


def insert_key(database_url: str, *, role: str = "member", models: tuple[str, ...] = ("*",)) -> str:
    return keys.insert_key(database_url, role=role, allowed_models=list(models))


@pytest.fixture(scope="session")
def fake_a() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(slow_s=3.0) as fake:
        yield fake


@pytest.fixture(scope="session")
def fake_b() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="session")
def fake_anthropic() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        yield fake


def api_models(a: FakeOpenAI, b: FakeOpenAI, anthropic: FakeAnthropic) -> dict[str, Any]:
    single = {
        alias: {"deployments": [deployment(f"{alias}-a", a.base_url, model)]}
        for alias, model in {
            "chat": "gpt-test",
            "chat-500": "fault-500",
            "chat-429": "fault-429",
            "chat-400": "fault-400",
            "chat-invalid": "fault-invalid-json",
            "chat-reset": "fault-reset",
            "chat-hang": "fault-hang",
        }.items()
    }
    # /v1/responses translated to chat completions ("chat" is native: the fake speaks both)
    single["chat-translate"] = {
        "deployments": [
            deployment("chat-translate-a", a.base_url, "gpt-test", responses_api="translate")
        ]
    }
    single["chat-slow"] = {
        "deployments": [deployment("chat-slow-a", a.base_url, "fault-slow", timeout_s=0.5)]
    }
    return {
        **single,
        "chat-fallback": {
            "deployments": [
                deployment("fallback-broken", a.base_url, "fault-503", weight=1e6),
                deployment("fallback-good", b.base_url, "gpt-good", weight=1e-6),
            ]
        },
        "embed": {
            "type": "embedding",
            "deployments": [deployment("embed-a", a.base_url, "text-embedding-test")],
        },
        "claude": {
            "deployments": [
                {
                    "name": "claude-a",
                    "provider": "anthropic",
                    "model": "claude-test",
                    "base_url": anthropic.base_url,
                    "api_key_env": "FAKE_ANTHROPIC_KEY",
                }
            ]
        },
    }


@pytest.fixture(scope="session")
def api_settings(
    settings: Settings, fake_a: FakeOpenAI, fake_b: FakeOpenAI, fake_anthropic: FakeAnthropic
) -> Settings:
    providers = ProvidersSettings.model_validate(
        {
            "models": api_models(fake_a, fake_b, fake_anthropic),
            "routing": RoutingSettings(
                deadline_s=10, backoff_initial_s=0.01, backoff_max_s=0.05, breaker_failures=10_000
            ).model_dump(),
        }
    )
    gateway = settings.gateway.model_copy(update={"max_body_bytes": 64 * 1024})
    return settings.model_copy(update={"providers": providers, "gateway": gateway})


@pytest.fixture(scope="session", params=["front", "asgi"])
def api_url(
    request: pytest.FixtureRequest,
    api_settings: Settings,
    database_url: str,
    redis_service: RedisForTests,
) -> Iterator[str]:
    """The gateway as ``ragway gateway`` serves it (its HTTP front serves the OpenAI POST
    routes itself), and again under uvicorn's own protocol (every route through ASGI)."""
    app = create_app(api_settings, database_url=database_url, redis_url=redis_service.url, env=ENV)
    http = HTTP_PROTOCOL if request.param == "front" else "httptools"
    with ServerThread(app, http=http) as server:
        yield server.base_url


@pytest.fixture(scope="session")
def api_key(database_url: str) -> str:
    return insert_key(database_url)


@pytest.fixture(scope="session")
def limited_key(database_url: str) -> str:
    return insert_key(database_url, models=("chat", "embed"))


@pytest.fixture
def client(api_url: str, api_key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{api_url}/v1", api_key=api_key, max_retries=0, timeout=20)


@pytest.fixture
async def aclient(api_url: str, api_key: str) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        base_url=f"{api_url}/v1", api_key=api_key, max_retries=0, timeout=20
    ) as async_client:
        yield async_client
