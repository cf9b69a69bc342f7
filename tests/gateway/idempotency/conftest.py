"""A gateway of this package's own over the session's Postgres and Redis, a loopback upstream
and helpers: the official ``openai`` client sends ``Idempotency-Key`` in ``extra_headers``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import openai
import psycopg
import pytest

from configs import IdempotencySettings, ProvidersSettings, Settings
from gateway.entry.app import create_app
from tests.support import keys
from tests.support.fake_openai import FakeOpenAI
from tests.support.servers import ServerThread
from tests.support.services import RedisForTests

UPSTREAM_KEY_ENV = "IDEMPOTENCY_UPSTREAM_KEY"
ENV = {UPSTREAM_KEY_ENV: "sk-upstream-idempotency-" + "i" * 20}
SLOW_S = 1.5  # the "slow" model's answer takes this long


def models(upstream: FakeOpenAI) -> dict[str, Any]:
    """``chat`` answers at once, ``slow`` after ``SLOW_S``, ``broken`` with a 500."""

    def alias(name: str, model: str) -> dict[str, Any]:
        deployment = {
            "name": f"{name}-a",
            "provider": "openai",
            "model": model,
            "base_url": upstream.base_url,
            "api_key_env": UPSTREAM_KEY_ENV,
            "timeout_s": 10,
            "responses_api": "translate",
        }
        return {"deployments": [deployment]}

    return {
        "chat": alias("chat", "gpt-test"),
        "slow": alias("slow", "fault-slow"),
        "broken": alias("broken", "fault-500"),
    }


@pytest.fixture(scope="package")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(slow_s=SLOW_S) as fake:
        yield fake


def _settings(settings: Settings, upstream: FakeOpenAI, **idempotency: Any) -> Settings:
    providers = ProvidersSettings.model_validate(
        {"models": models(upstream), "routing": {"max_attempts": 1}}
    )
    return settings.model_copy(
        update={"providers": providers, "idempotency": IdempotencySettings(**idempotency)}
    )


@pytest.fixture(scope="package")
def gateway_url(
    settings: Settings, upstream: FakeOpenAI, database_url: str, redis_service: RedisForTests
) -> Iterator[str]:
    app = create_app(
        _settings(settings, upstream),
        database_url=database_url,
        redis_url=redis_service.url,
        env=ENV,
    )
    with ServerThread(app) as server:
        yield server.base_url


@pytest.fixture(scope="package")
def impatient_url(
    settings: Settings, upstream: FakeOpenAI, database_url: str, redis_service: RedisForTests
) -> Iterator[str]:
    """A second gateway on the same database whose duplicates wait only 0.3 s."""
    app = create_app(
        _settings(settings, upstream, wait_s=0.3),
        database_url=database_url,
        redis_url=redis_service.url,
        env=ENV,
    )
    with ServerThread(app) as server:
        yield server.base_url


def new_key(database_url: str, *, role: str = "admin") -> str:
    return keys.insert_key(database_url, name="idempotency", role=role)


def client(url: str, api_key: str, *, max_retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=api_key, max_retries=max_retries, timeout=30)


def idempotency(key: str | None = None) -> dict[str, str]:
    """``extra_headers`` with a fresh (or the given) ``Idempotency-Key``."""
    return {"Idempotency-Key": key or str(uuid.uuid4())}


def rows(database_url: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        return conn.execute(sql.encode(), params).fetchall()
