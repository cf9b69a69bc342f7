"""Fault tests: each owns the process or server it breaks (a gateway, a Redis, a Postgres).

Nothing here stops a server another test uses: the session's Postgres and Redis are only
used where they stay up, under this package's own key prefix and broker namespace.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest

from ingestion.db import migrate
from tests.support.fake_openai import FakeOpenAI
from tests.support.services import PostgresForTests

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
