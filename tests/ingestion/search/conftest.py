"""Fixtures for search tests: the real local embedder and databases seeded with chunks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from psycopg_pool import AsyncConnectionPool

from configs import DatabaseSettings
from inference.embedders import LocalEmbedder
from ingestion.db import migrate, open_pool
from tests.support.services import PostgresForTests


def migrated_database(postgres: PostgresForTests, prefix: str) -> str:
    """A new database of the caller's own, at the current schema."""
    url = postgres.create_database(prefix)
    asyncio.run(migrate(url))
    return url


@asynccontextmanager
async def opened_pool(url: str) -> AsyncIterator[AsyncConnectionPool]:
    pool = await open_pool(url, DatabaseSettings(pool_max_size=4), application_name="tests")
    await pool.wait()
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture(scope="session")
def embedder() -> LocalEmbedder:
    return LocalEmbedder()


@pytest.fixture(scope="session")
def search_url(postgres: PostgresForTests) -> str:
    """The search tests' own database (they create stores with fixed ids)."""
    return migrated_database(postgres, "ragway_search")


@pytest.fixture(scope="session")
async def search_pool(search_url: str) -> AsyncIterator[AsyncConnectionPool]:
    async with opened_pool(search_url) as pool:
        yield pool
