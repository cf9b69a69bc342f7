"""The async connection pool every process uses, with pgvector types on each connection."""

from __future__ import annotations

import select

import psycopg
from pgvector.psycopg import register_vector_async
from psycopg_pool import AsyncConnectionPool

from configs import DatabaseSettings

__all__ = ["open_pool"]


async def _check(conn: psycopg.AsyncConnection) -> None:
    """Before a pooled connection is handed out: a round trip only when it may be dead.

    An idle connection's socket has nothing to read. When the server ends the session (a
    restart, ``pg_terminate_backend``, an idle timeout) it sends a FATAL error and closes the
    socket, which makes it readable: only then is the connection checked with a query, and
    dropped if that fails. A healthy checkout costs one ``poll`` system call, not a round
    trip to Postgres. (A server that vanished without closing its sockets is not seen here;
    nor was it by the query, which would have waited for TCP to time out.)
    """
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("the pooled connection is closed")
    waiting = select.poll()
    waiting.register(conn.pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
    if waiting.poll(0):  # the server said something while the connection sat idle
        await AsyncConnectionPool.check_connection(conn)


async def _configure(conn: psycopg.AsyncConnection) -> None:
    await register_vector_async(conn)
    # register_vector_async leaves a transaction open on non-autocommit connections.
    await conn.commit()


async def open_pool(
    url: str, settings: DatabaseSettings, *, application_name: str
) -> AsyncConnectionPool:
    """Open a pool without waiting for Postgres: readiness reports it until it answers.

    Connections are checked before they are handed out (``_check``), so a Postgres restart
    costs the requests in flight at that moment, not every pooled connection afterwards.
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
        check=_check,
        timeout=settings.acquire_timeout_s,
        open=False,
        name=application_name,
    )
    await pool.open(wait=False)
    return pool
