"""Ingestion work for the workers: staged in the outbox by ids, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from psycopg import AsyncConnection

from ingestion.queue._ingestion import INGEST_ACTOR
from ingestion.queue._outbox import Job, stage

__all__ = ["IngestionQueue"]


class IngestionQueue:
    """``ingest_file`` jobs by actor name; the gateway never declares actors.

    The gateway stages jobs (:meth:`stage`) in the transaction that queues the files, so a
    file is ``in_progress`` exactly when its job is on its way, Redis up or not.
    """

    def __init__(self, broker: RedisBroker, *, queue_name: str) -> None:
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
        """Messages not yet acknowledged: waiting, delayed for a retry, or being processed."""
        return int(self._broker.do_qsize(self._queue))
