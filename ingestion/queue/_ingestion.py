"""The ingestion actors: ingest one file into one store (by ids), and record a final failure.

``ingest_file`` is idempotent (a file no longer ``in_progress`` is skipped) and retried with
exponential backoff on any error but a rejected document, which fails the file at once.
When retries run out, ``ingest_file_gave_up`` marks the file failed with the last error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

import dramatiq
from dramatiq import Actor, Broker

from configs import IngestionSettings
from ingestion.metrics import IngestionMetrics

__all__ = [
    "INGEST_ACTOR",
    "INGEST_GAVE_UP_ACTOR",
    "FailureRecorder",
    "IngestionActors",
    "Ingestor",
    "declare_ingestion_actors",
]

INGEST_ACTOR = "ingest_file"
INGEST_GAVE_UP_ACTOR = "ingest_file_gave_up"

_log = logging.getLogger(__name__)


class Ingestor(Protocol):
    def ingest(self, store_id: str, file_id: str) -> str: ...


class FailureRecorder(Protocol):
    def note_error(self, store_id: str, file_id: str, code: str, message: str) -> None: ...

    def fail(
        self, store_id: str, file_id: str, code: str | None = None, message: str | None = None
    ) -> bool: ...


@dataclass(frozen=True, slots=True)
class IngestionActors:
    ingest_file: Actor[[str, str], None]
    gave_up: Actor[[dict[str, Any], dict[str, Any]], None]


def declare_ingestion_actors(
    broker: Broker,
    *,
    ingestor: Ingestor,
    failures: FailureRecorder,
    metrics: IngestionMetrics,
    settings: IngestionSettings,
) -> IngestionActors:
    """Declare the ingestion actors on ``broker`` with their collaborators; once per process."""

    def ingest_file(store_id: str, file_id: str) -> None:
        try:
            ingestor.ingest(store_id, file_id)
        except Exception as exc:
            metrics.retries.labels(type(exc).__name__).inc()
            _note(failures, store_id, file_id, exc)
            raise

    def ingest_file_gave_up(message: dict[str, Any], retry: dict[str, Any]) -> None:
        store_id, file_id = message["args"]
        if failures.fail(store_id, file_id):
            metrics.failures.labels("server_error").inc()
        _log.error(
            "ingestion gave up",
            extra={"store_id": store_id, "file_id": file_id, "retries": retry.get("retries")},
        )

    gave_up = dramatiq.actor(
        broker=broker, actor_name=INGEST_GAVE_UP_ACTOR, queue_name=settings.queue, max_retries=10
    )(ingest_file_gave_up)
    ingest = dramatiq.actor(
        broker=broker,
        actor_name=INGEST_ACTOR,
        queue_name=settings.queue,
        max_retries=settings.max_retries,
        min_backoff=int(settings.min_backoff_s * 1000),
        max_backoff=int(settings.max_backoff_s * 1000),
        time_limit=int(settings.time_limit_s * 1000),
        on_retry_exhausted=INGEST_GAVE_UP_ACTOR,
    )(ingest_file)
    return IngestionActors(ingest_file=ingest, gave_up=gave_up)


def _note(failures: FailureRecorder, store_id: str, file_id: str, exc: Exception) -> None:
    """Remember the error for last_error; if even that fails, the retry still happens."""
    try:
        failures.note_error(store_id, file_id, "server_error", f"{type(exc).__name__}: {exc}")
    except Exception:  # noqa: BLE001 - observer: the original error is what gets retried
        _log.warning("could not record the ingestion error", exc_info=True)
