"""Migrations against a real Postgres with pgvector: fresh, re-applied, concurrent, guarded."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from configs import load_settings
from ingestion.db import (
    applied_migrations,
    detect_capabilities,
    known_migrations,
    migrate,
    open_pool,
)
from ingestion.errors import DatabaseUnavailableError, MigrationError
from tests.support.services import PostgresForTests


async def test_fresh_database_gets_every_migration(postgres: PostgresForTests) -> None:
    url = postgres.create_database()
    applied = await migrate(url)
    assert [m.version for m in applied] == [m.version for m in known_migrations()]
    states = await applied_migrations(url)
    assert all(state.applied_at is not None for state in states)
    async with await psycopg.AsyncConnection.connect(url) as conn:
        caps = await detect_capabilities(conn)
    assert caps.pgvector_version >= (0, 5)
    assert caps.hnsw


async def test_reapply_is_a_no_op(postgres: PostgresForTests) -> None:
    url = postgres.create_database()
    await migrate(url)
    assert await migrate(url) == []


async def test_concurrent_apply_runs_each_migration_once(postgres: PostgresForTests) -> None:
    url = postgres.create_database()
    results = await asyncio.gather(*(migrate(url) for _ in range(6)))
    # One migration per locked transaction: the callers share the work, none twice.
    applied = sorted(m.version for r in results for m in r)
    assert applied == [m.version for m in known_migrations()]
    async with await psycopg.AsyncConnection.connect(url) as conn:
        rows = await (
            await conn.execute("SELECT version, count(*) FROM ragway_schema_migrations GROUP BY 1")
        ).fetchall()
    assert all(count == 1 for _, count in rows)


async def test_status_lists_pending_before_migrate(postgres: PostgresForTests) -> None:
    url = postgres.create_database()
    states = await applied_migrations(url)
    assert states
    assert all(state.applied_at is None for state in states)


async def test_edited_migration_is_refused(postgres: PostgresForTests) -> None:
    url = postgres.create_database()
    await migrate(url)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("UPDATE ragway_schema_migrations SET checksum = 'x' WHERE version = 1")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        await migrate(url)


async def test_database_newer_than_release_is_refused(postgres: PostgresForTests) -> None:
    url = postgres.create_database()
    await migrate(url)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(
            "INSERT INTO ragway_schema_migrations (version, name, checksum) "
            "VALUES (9999, 'future', 'x')"
        )
    with pytest.raises(MigrationError, match="newer than this release"):
        await migrate(url)


async def test_unreachable_server_is_a_clear_error() -> None:
    with pytest.raises(DatabaseUnavailableError, match="cannot connect"):
        await migrate("postgresql://nobody@127.0.0.1:1/none", connect_timeout_s=1)


async def test_pool_registers_vector_type(database_url: str) -> None:
    settings = load_settings(config_files=[], env={})
    pool = await open_pool(database_url, settings.database, application_name="ragway-test")
    try:
        async with pool.connection() as conn:
            row = await (await conn.execute("SELECT '[1,2,3]'::vector")).fetchone()
        assert row is not None
        assert row[0].to_list() == [1.0, 2.0, 3.0]
    finally:
        await pool.close()


async def test_chunk_vector_index_is_built_for_recall(postgres: PostgresForTests) -> None:
    """Migration 0007 rebuilds the HNSW index with ef_construction 128 (search recall)."""
    url = postgres.create_database()
    await migrate(url)
    async with await psycopg.AsyncConnection.connect(url) as conn:
        row = await (
            await conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'chunks_embedding_384_hnsw'"
            )
        ).fetchone()
    assert row is not None
    assert "ef_construction='128'" in row[0]
    assert "WHERE (dimension = 384)" in row[0]
