"""Fault tests: each owns the process or server it breaks (a gateway, a Redis, a Postgres).

Nothing here stops a server another test uses: the session's Postgres and Redis are only
used where they stay up, under this package's own key prefix and broker namespace.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.entry.runtime import EmbeddedPostgres, EmbeddedRedis
from ingestion.db import migrate
from tests.support.fake_openai import FakeOpenAI
from tests.support.net import free_port
from tests.support.services import PostgresForTests, RedisForTests

UPSTREAM_KEY_ENV = "FAULTS_UPSTREAM_KEY"


@pytest.fixture(scope="package")
def fault_upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="package")
def embed_upstream() -> Iterator[FakeOpenAI]:
    """The embedder's upstream: every call takes ``slow_s``, so ingestion is in progress
    long enough for a fault to hit it."""
    with FakeOpenAI(slow_s=0.7) as fake:
        yield fake


@pytest.fixture(scope="package")
def faults_database_url(postgres: PostgresForTests) -> str:
    """A migrated database of this package's own on the session's Postgres (which stays up)."""
    url = postgres.create_database("ragway_faults")
    asyncio.run(migrate(url))
    return url


def models_env(upstream: FakeOpenAI) -> dict[str, str]:
    """``chat`` answers at once, ``drip`` streams slowly (``upstream.drip_s`` per chunk)."""
    deployment = {
        "provider": "openai",
        "base_url": upstream.base_url,
        "api_key_env": UPSTREAM_KEY_ENV,
    }
    models = {
        "chat": {"deployments": [{"name": "chat-a", "model": "gpt-test", **deployment}]},
        "drip": {"deployments": [{"name": "drip-a", "model": "fault-drip", **deployment}]},
    }
    return {
        UPSTREAM_KEY_ENV: "sk-upstream-faults-" + "f" * 20,
        "RAGWAY_PROVIDERS__MODELS": json.dumps(models),
    }


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A Redis of the test's own (append-only file: a restart keeps the queues)."""
    server = EmbeddedRedis(tmp_path / "redis", port=free_port(), persist=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    """A Postgres of the test's own, which it may stop, freeze or restart."""
    server = EmbeddedPostgres(tmp_path / "postgres")
    yield server
    server.stop()


def process_env(
    *,
    database_url: str,
    redis: RedisForTests,
    upstream: FakeOpenAI,
    config: Path,
    tmp_path: Path,
    name: str,
) -> dict[str, str]:
    """The environment of a gateway (or worker) process on ``database_url`` with the chat
    models of ``upstream``, under a key prefix and broker namespace of its own (``name``)."""
    return {
        **models_env(upstream),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis.url,
        "RAGWAY_CONFIG": str(config),
        "RAGWAY_REDIS__KEY_PREFIX": f"{redis.key_prefix}{name}:",
        "RAGWAY_WORKER__NAMESPACE": f"{redis.namespace}-{name}",
        "RAGWAY_DATA_DIR": str(tmp_path / "data"),
    }
