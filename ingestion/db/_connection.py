"""A pooled connection that never waits on Postgres longer than a bound, even a frozen one.

``statement_timeout`` is enforced by the server, so it cannot act when the server itself is
stopped or cut off (a network partition, a host frozen under memory pressure): a query then
waits for an answer that comes only when the outage ends. Here the client bounds each round
trip -- a statement, a fetch, a commit or rollback -- and a connection whose server did not
answer in time is dropped at once and reported as ``psycopg.OperationalError`` (which every
caller already turns into a retryable 503), so the pool replaces it with a fresh one.

Leans on two psycopg details (3.3): ``AsyncConnection.wait`` drives every round trip and
takes a ``timeout`` that raises ``errors._WaitTimeout``; and a task cancelled mid-query
sends a cancel request through ``cancel_safe`` before it lets go of the connection.
tests/ingestion/test_pool.py fails if either changes.
"""

from __future__ import annotations

from typing import Any, TypeVar

import psycopg
from psycopg import errors
from psycopg.abc import PQGen

__all__ = ["BoundedConnection", "NoAnswerError", "bounded_connection_class"]

RV = TypeVar("RV")
_WAIT_INTERVAL = 0.1  # psycopg's own: how often a wait wakes to notice a signal


class NoAnswerError(psycopg.OperationalError):
    """Postgres did not answer within the bound: the connection was dropped."""


class BoundedConnection(psycopg.AsyncConnection[Any]):
    """Every round trip ends within ``answer_timeout_s``; a cancel within ``cancel_timeout_s``."""

    answer_timeout_s: float = 5.0
    cancel_timeout_s: float = 1.0

    async def wait(
        self,
        gen: PQGen[RV],
        interval: float = _WAIT_INTERVAL,
        timeout: float | None = None,  # noqa: ASYNC109 - psycopg's signature, overridden
    ) -> RV:
        if timeout is not None and timeout <= self.answer_timeout_s:
            return await super().wait(gen, interval, timeout)  # the caller's own, shorter bound
        try:
            return await super().wait(gen, interval, self.answer_timeout_s)
        except errors._WaitTimeout as exc:
            # The connection is mid-protocol with a server that may answer later: unusable.
            self.pgconn.finish()
            raise NoAnswerError(
                f"no answer from Postgres in {self.answer_timeout_s:g}s: connection dropped"
            ) from exc

    async def cancel_safe(self, *, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Cancel the running query, giving up soon: a frozen server never answers a cancel.

        psycopg calls this when a task is cancelled mid-query and then waits for the query to
        end; when the cancel request itself gets no answer, the connection is dropped here, so
        that wait ends at once instead of holding the cancelled task for seconds.
        """
        try:
            await super().cancel_safe(timeout=min(timeout, self.cancel_timeout_s))
        except errors.CancellationTimeout:
            self.pgconn.finish()
            raise


def bounded_connection_class(
    *,
    answer_timeout_s: float,
    cancel_timeout_s: float,
    base: type[BoundedConnection] = BoundedConnection,
) -> type[BoundedConnection]:
    """A subclass of ``base`` with these bounds, for one pool's ``connection_class``."""
    return type(
        "BoundedConnection",
        (base,),
        {"answer_timeout_s": answer_timeout_s, "cancel_timeout_s": cancel_timeout_s},
    )
