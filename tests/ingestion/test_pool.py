"""The pool hands out live connections without a round trip per checkout (real Postgres)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg_pool import AsyncConnectionPool

from configs import load_settings
from ingestion.db import open_pool


def last_query(url: str, pid: int) -> str | None:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    return None if row is None else str(row[0])


@asynccontextmanager
async def one_connection_pool(url: str) -> AsyncIterator[AsyncConnectionPool]:
    settings = load_settings().database.model_copy(update={"pool_min_size": 1, "pool_max_size": 1})
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
