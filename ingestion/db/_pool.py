"""The async connection pool every process uses, with pgvector types on each connection."""

from __future__ import annotations

import psycopg
from pgvector.psycopg import register_vector_async
from psycopg_pool import AsyncConnectionPool

from configs import DatabaseSettings

__all__ = ["open_pool"]


async def _configure(conn: psycopg.AsyncConnection) -> None:
    await register_vector_async(conn)
    # register_vector_async leaves a transaction open on non-autocommit connections.
    await conn.commit()


async def open_pool(
    url: str, settings: DatabaseSettings, *, application_name: str
) -> AsyncConnectionPool:
    """Open a pool without waiting for Postgres: readiness reports it until it answers.

    Connections are checked before they are handed out, so a Postgres restart costs
    the requests in flight at that moment, not every pooled connection afterwards.
    """
    pool = AsyncConnectionPool(
        url,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        kwargs={
            "connect_timeout": max(1, int(settings.connect_timeout_s)),
            "application_name": application_name,
        },
        configure=_configure,
        check=AsyncConnectionPool.check_connection,
        timeout=settings.acquire_timeout_s,
        open=False,
        name=application_name,
    )
    await pool.open(wait=False)
    return pool
