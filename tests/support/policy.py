"""Helpers for the policy tests: a pool on the session's database, keys made through the service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from psycopg_pool import AsyncConnectionPool

from configs import DatabaseSettings
from gateway.keys import CreatedKey, KeyCreate, KeyService
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
