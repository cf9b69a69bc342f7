"""Ingestion work for the workers: staged in the outbox by ids, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import dramatiq
from psycopg import AsyncConnection

from ingestion.queue._ingestion import INGEST_ACTOR
from ingestion.queue._outbox import Job, stage
from ingestion.queue._types import QueueBroker

__all__ = ["IngestionQueue"]


class IngestionQueue:
    """``ingest_file`` jobs by actor name; the gateway never declares actors.

    The gateway stages jobs (:meth:`stage`) in the transaction that queues the files, so a
    file is ``in_progress`` exactly when its job is on its way, Redis up or not.
    """

    def __init__(self, broker: QueueBroker, *, queue_name: str) -> None:
        self._broker = broker
        self._queue = queue_name
        self._namespace = broker.namespace

    def jobs(self, items: Iterable[tuple[str, str]]) -> list[Job]:
        """One job per (vector store id, file id)."""
        return [Job(self._queue, INGEST_ACTOR, (store, file)) for store, file in items]

    async def stage(self, conn: AsyncConnection[Any], items: Sequence[tuple[str, str]]) -> None:
        """Stage the jobs of ``items`` in the outbox, inside ``conn``'s transaction."""
        await stage(conn, self._namespace, self.jobs(items))

    def enqueue(self, items: Iterable[tuple[str, str]]) -> None:
        """Publish at once, outside any transaction (tools and tests). Blocking."""
        for job in self.jobs(items):
            self._broker.enqueue(
                dramatiq.Message(
                    queue_name=job.queue_name,
                    actor_name=job.actor_name,
                    args=job.args,
                    kwargs={},
                    options={},
                )
            )

    def depth(self) -> int:
        """Messages waiting or delayed for a retry (on Redis also those being processed).
        Blocking."""
        return self._broker.depth(self._queue)

    def dead_letters(self) -> int:
        """Messages that failed for good, in the dead-letter queue. Blocking."""
        return self._broker.dead_letters(self._queue)

    def workers(self) -> int:
        """Worker processes consuming the ingestion queue now. Blocking."""
        return self._broker.live_workers(self._queue)
