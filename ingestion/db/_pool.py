"""The async connection pool every process uses, with pgvector types on each connection."""

from __future__ import annotations

import select
from typing import Any

import psycopg
from pgvector.psycopg import register_vector_async
from psycopg_pool import AsyncConnectionPool

from configs import DatabaseSettings
from ingestion.db._connection import bounded_connection_class
from ingestion.db._pooler import connect_kwargs, connection_base

__all__ = ["open_pool"]


async def _check(conn: psycopg.AsyncConnection[Any]) -> None:
    """Before a pooled connection is handed out: a round trip only when it may be dead.

    An idle connection's socket has nothing to read. When the server ends the session (a
    restart, ``pg_terminate_backend``, an idle timeout) it sends a FATAL error and closes the
    socket, which makes it readable: only then is the connection checked with a query, and
    dropped if that fails. A healthy checkout costs one ``poll`` system call, not a round
    trip to Postgres. (A server that vanished without closing its sockets is not seen here:
    the first statement on the connection then gets no answer within ``answer_timeout_s``,
    and the connection is dropped.)
    """
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("the pooled connection is closed")
    waiting = select.poll()
    waiting.register(conn.pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
    if waiting.poll(0):  # the server said something while the connection sat idle
        await AsyncConnectionPool.check_connection(conn)


def _connect_kwargs(settings: DatabaseSettings, application_name: str) -> dict[str, Any]:
    """libpq parameters: bounded connection attempts, and TCP that notices a silent peer.

    Keepalive probes find a vanished server between queries; ``tcp_user_timeout`` ends a
    connection whose sent data stays unacknowledged. Both within ``tcp_timeout_s``; libpq
    ignores them on a unix socket, where the server is on the same host.
    """
    tcp = settings.tcp_timeout_s
    return {
        "connect_timeout": max(1, int(settings.connect_timeout_s)),
        "application_name": application_name,
        "keepalives": 1,
        "keepalives_idle": max(1, int(tcp / 2)),
        "keepalives_interval": max(1, int(tcp / 6)),
        "keepalives_count": 3,
        "tcp_user_timeout": int(tcp * 1000),
    }


async def open_pool(
    url: str, settings: DatabaseSettings, *, application_name: str
) -> AsyncConnectionPool[psycopg.AsyncConnection[Any]]:
    """Open a pool without waiting for Postgres: readiness reports it until it answers.

    Connections are checked before they are handed out (``_check``), so a Postgres restart
    costs the requests in flight at that moment, not every pooled connection afterwards.
    Every round trip is bounded twice: by the server (``statement_timeout``; behind a
    transaction-mode pooler, each transaction's, see ``_pooler``) and, for a server that
    cannot answer at all, by the client (``answer_timeout_s``, see ``BoundedConnection``).
    """
    statement_timeout_ms = str(max(1, round(settings.statement_timeout_s * 1000)))
    per_session = settings.pooler == "none"  # behind a pooler: per transaction (``_pooler``)

    async def configure(conn: psycopg.AsyncConnection[Any]) -> None:
        if per_session:
            await conn.execute(
                "SELECT set_config('statement_timeout', %s, false)", (statement_timeout_ms,)
            )
        await register_vector_async(conn)
        # register_vector_async leaves a transaction open on non-autocommit connections.
        await conn.commit()

    pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = AsyncConnectionPool(
        url,
        connection_class=bounded_connection_class(
            answer_timeout_s=settings.answer_timeout_s,
            cancel_timeout_s=min(settings.answer_timeout_s, settings.connect_timeout_s),
            base=connection_base(settings),
        ),
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        kwargs={**_connect_kwargs(settings, application_name), **connect_kwargs(settings)},
        configure=configure,
        check=_check,
        timeout=settings.acquire_timeout_s,
        open=False,
        name=application_name,
    )
    await pool.open(wait=False)
    return pool
