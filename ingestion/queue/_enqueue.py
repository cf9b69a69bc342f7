"""Sending ingestion work: what the gateway uses to queue a file (by ids) for the workers."""

from __future__ import annotations

from collections.abc import Iterable

import dramatiq
from dramatiq import Broker

from ingestion.queue._ingestion import INGEST_ACTOR

__all__ = ["IngestionQueue"]


class IngestionQueue:
    """Enqueues ``ingest_file`` messages by actor name; the gateway never declares actors."""

    def __init__(self, broker: Broker, *, queue_name: str) -> None:
        self._broker = broker
        self._queue = queue_name

    def enqueue(self, items: Iterable[tuple[str, str]]) -> None:
        """One message per (vector store id, file id). Blocking: call from a thread."""
        for store_id, file_id in items:
            self._broker.enqueue(
                dramatiq.Message(
                    queue_name=self._queue,
                    actor_name=INGEST_ACTOR,
                    args=(store_id, file_id),
                    kwargs={},
                    options={},
                )
            )

    def depth(self) -> int:
        """Messages not yet acknowledged: waiting, delayed for a retry, or being processed."""
        return int(self._broker.do_qsize(self._queue))  # type: ignore[attr-defined]
