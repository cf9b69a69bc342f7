"""The pool hands out live connections without a round trip per checkout, and never waits on
Postgres longer than its bounds, even on a frozen server (real Postgres)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from configs import load_settings
from gateway.entry.runtime import EmbeddedPostgres
from ingestion.db import open_pool
from tests.hardening.faults.freeze import frozen


def last_query(url: str, pid: int) -> str | None:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    return None if row is None else str(row[0])


@asynccontextmanager
async def one_connection_pool(url: str, **bounds: Any) -> AsyncIterator[AsyncConnectionPool]:
    update = {"pool_min_size": 1, "pool_max_size": 1, **bounds}
    settings = load_settings().database.model_copy(update=update)
    pool = await open_pool(url, settings, application_name="ragway-test-pool")
    try:
        await pool.wait()
        yield pool
    finally:
        await pool.close()


async def test_a_healthy_connection_is_handed_out_without_a_check_query(
    database_url: str,
) -> None:
    async with one_connection_pool(database_url) as pool:
        async with pool.connection() as conn:
            pid = conn.info.backend_pid
            await conn.execute("SELECT 'marker-1'")
        returned = last_query(database_url, pid)  # the COMMIT the pool's context ended with
        assert returned == "COMMIT"
        async with pool.connection() as conn:
            assert conn.info.backend_pid == pid
            # the server saw nothing since: no check query went ahead of this checkout
            assert last_query(database_url, pid) == returned


async def test_a_connection_the_server_closed_is_replaced_at_checkout(database_url: str) -> None:
    async with one_connection_pool(database_url) as pool:
        async with pool.connection() as conn:
            pid = conn.info.backend_pid
        with psycopg.connect(database_url, autocommit=True) as admin:  # as a restart would
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))  # waits for its exit
        for _ in range(3):  # no request sees the dead connection
            async with pool.connection() as conn:
                assert conn.info.backend_pid != pid
                assert await (await conn.execute("SELECT 1")).fetchone() == (1,)


async def test_postgres_cancels_a_statement_past_statement_timeout(database_url: str) -> None:
    async with (
        one_connection_pool(database_url, statement_timeout_s=0.2) as pool,
        pool.connection() as conn,
    ):
        with pytest.raises(psycopg.errors.QueryCanceled):
            await conn.execute("SELECT pg_sleep(5)")


async def test_a_statement_without_an_answer_in_time_drops_the_connection(
    database_url: str,
) -> None:
    async with one_connection_pool(
        database_url, answer_timeout_s=0.3, statement_timeout_s=30
    ) as pool:
        async with pool.connection() as conn:
            pid = conn.info.backend_pid
            started = time.monotonic()
            with pytest.raises(psycopg.OperationalError, match=r"no answer from Postgres in 0\.3s"):
                await conn.execute("SELECT pg_sleep(5)")
            assert time.monotonic() - started < 1.0
            assert conn.closed
        async with pool.connection() as conn:  # a fresh connection took its place
            assert conn.info.backend_pid != pid
            assert await (await conn.execute("SELECT 1")).fetchone() == (1,)


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[str]:
    server = EmbeddedPostgres(tmp_path / "postgres")
    url = server.start()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    yield url
    server.stop()


async def test_a_frozen_server_bounds_statements_checkouts_and_cancels(own_postgres: str) -> None:
    bounds = {"answer_timeout_s": 0.5, "acquire_timeout_s": 0.5, "connect_timeout_s": 1}
    async with one_connection_pool(own_postgres, **bounds) as pool:
        async with pool.connection() as conn:
            await conn.execute("SELECT 1")
        with frozen(own_postgres):
            started = time.monotonic()
            with pytest.raises(psycopg.OperationalError):  # the statement gets no answer
                async with pool.connection() as conn:
                    await conn.execute("SELECT 1")
            with pytest.raises(psycopg.OperationalError):  # nor does a new connection
                async with pool.connection() as conn:
                    await conn.execute("SELECT 1")
            assert time.monotonic() - started < 2.5
        # A task cancelled mid-query lets go within the cancel bound, not psycopg's 5 + 5 s.
        async with pool.connection(timeout=10) as conn:
            with frozen(own_postgres):
                query = asyncio.ensure_future(conn.execute("SELECT 1"))
                await asyncio.sleep(0.2)
                started = time.monotonic()
                query.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await query
                assert time.monotonic() - started < 1.5
        async with pool.connection(timeout=10) as conn:  # recovered, by itself
            assert await (await conn.execute("SELECT 1")).fetchone() == (1,)


def test_this_psycopg_has_what_the_bounded_connection_overrides() -> None:
    """pyproject pins psycopg: an upgrade that moves these fails here, naming them."""
    import inspect

    import psycopg
    from psycopg import errors

    missing = []
    if not hasattr(errors, "_WaitTimeout"):
        missing.append("psycopg.errors._WaitTimeout")
    if "timeout" not in inspect.signature(psycopg.AsyncConnection.wait).parameters:
        missing.append("psycopg.AsyncConnection.wait(..., timeout=)")
    if "timeout" not in inspect.signature(psycopg.AsyncConnection.cancel_safe).parameters:
        missing.append("psycopg.AsyncConnection.cancel_safe(timeout=)")
    assert not missing, (
        f"psycopg {psycopg.__version__} lacks what ingestion/db/_connection.py relies on: "
        + ", ".join(missing)
    )
