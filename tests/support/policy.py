"""Helpers for the policy tests: a pool on the session's database, keys made through the service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from psycopg_pool import AsyncConnectionPool

from configs import DatabaseSettings
from gateway.policy.keys import CreatedKey, KeyCreate, KeyService
from ingestion.db import open_pool

__all__ = ["NoEvents", "make_key", "pool_for"]


class NoEvents:
    """A ``KeyEvents`` that tells nobody: for tests that exercise only the TTL."""

    async def key_changed(self, key_id: str) -> None:
        return None


@asynccontextmanager
async def pool_for(url: str) -> AsyncIterator[AsyncConnectionPool]:
    pool = await open_pool(
        url, DatabaseSettings(pool_min_size=0, pool_max_size=4), application_name="ragway-test"
    )
    await pool.wait(timeout=10)
    try:
        yield pool
    finally:
        await pool.close()


async def make_key(service: KeyService, name: str = "test", **fields: object) -> CreatedKey:
    return await service.create(KeyCreate.model_validate({"name": name, **fields}))


def priced_providers(upstream_base_url: str) -> dict[str, object]:
    """Model aliases on a fake OpenAI upstream: ``chat`` (priced) and ``embed``."""

    def deployment(name: str, model: str, **extra: object) -> dict[str, object]:
        return {
            "name": name,
            "provider": "openai",
            "model": model,
            "base_url": upstream_base_url,
            "api_key_env": "FAKE_OPENAI_KEY",
            "timeout_s": 5,
            **extra,
        }

    return {
        "models": {
            "chat": {
                "deployments": [
                    deployment(
                        "chat-a", "gpt-test", input_price_per_1m=1000, output_price_per_1m=2000
                    )
                ]
            },
            "other": {"deployments": [deployment("other-a", "gpt-other")]},
            "embed": {"type": "embedding", "deployments": [deployment("embed-a", "emb-test")]},
        }
    }


UPSTREAM_ENV = {"FAKE_OPENAI_KEY": "sk-upstream-" + "x" * 20}
