"""Staging jobs in the transactional outbox: a row per message, in the caller's transaction.

Whoever changes state that needs work done (a file queued for ingestion, a batch line, a
webhook delivery) calls :func:`stage` (or :func:`stage_sync` from a worker thread) on the
connection of that same transaction. The rows become visible, and the relays are woken
(``NOTIFY``, delivered at commit), only if the transaction commits; the relay
(:class:`~ingestion.queue.OutboxRelay`) then publishes them to the broker. So an answer
that says "queued" never rests on a message that was not sent, and nothing needs Redis to
accept work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection, Connection
from psycopg.types.json import Jsonb

from ingestion import tracing

__all__ = ["NOTIFY_CHANNEL", "Job", "stage", "stage_sync"]

NOTIFY_CHANNEL = "ragway_outbox"

_INSERT = (
    "INSERT INTO outbox (namespace, queue_name, actor_name, args, available_at, traceparent) "
    "VALUES (%s, %s, %s, %s, now() + make_interval(secs => %s), %s)"
)
_NOTIFY = f"SELECT pg_notify('{NOTIFY_CHANNEL}', '')"


@dataclass(frozen=True, slots=True)
class Job:
    """One message for an actor: its queue, its name and its (JSON) arguments, never payloads.

    ``delay_s`` holds the message back: it is published that long after the commit.
    """

    queue_name: str
    actor_name: str
    args: tuple[Any, ...]
    delay_s: float = 0.0


async def stage(conn: AsyncConnection[Any], namespace: str, jobs: Sequence[Job]) -> None:
    """Write ``jobs`` for the broker ``namespace`` to the outbox, inside the transaction
    ``conn`` is in."""
    if not jobs:
        return
    async with conn.cursor() as cursor:
        parent = _traceparent()
        await cursor.executemany(_INSERT, [_row(namespace, job, parent) for job in jobs])
        await cursor.execute(_NOTIFY)


def stage_sync(conn: Connection[Any], namespace: str, jobs: Sequence[Job]) -> None:
    """:func:`stage` for a blocking connection (worker threads)."""
    if not jobs:
        return
    with conn.cursor() as cursor:
        parent = _traceparent()
        cursor.executemany(_INSERT, [_row(namespace, job, parent) for job in jobs])
        cursor.execute(_NOTIFY)


def _row(
    namespace: str, job: Job, parent: str | None
) -> tuple[str, str, str, Jsonb, float, str | None]:
    return (namespace, job.queue_name, job.actor_name, Jsonb(list(job.args)), job.delay_s, parent)


def _traceparent() -> str | None:
    """The current span's W3C ``traceparent`` (tracing on): the worker's spans continue it."""
    if tracing.tracer() is None:
        return None
    carrier: dict[str, str] = {}
    tracing.inject(carrier)
    return carrier.get("traceparent")
