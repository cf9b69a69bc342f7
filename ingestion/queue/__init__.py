"""The job queue: a Dramatiq broker on Redis and the actors workers run."""

from __future__ import annotations

from ingestion.queue._actors import PING_ACTOR, Actors, KeyValueStore, declare_actors
from ingestion.queue._broker import build_broker
from ingestion.queue._enqueue import IngestionQueue
from ingestion.queue._ingestion import (
    INGEST_ACTOR,
    INGEST_GAVE_UP_ACTOR,
    FailureRecorder,
    IngestionActors,
    Ingestor,
    declare_ingestion_actors,
)
from ingestion.queue._presence import forget_worker, record_worker, workers_key
from ingestion.queue._recovery import DeadWorkerSweeper, sweep_dead_workers

__all__ = [
    "INGEST_ACTOR",
    "INGEST_GAVE_UP_ACTOR",
    "PING_ACTOR",
    "Actors",
    "DeadWorkerSweeper",
    "FailureRecorder",
    "IngestionActors",
    "IngestionQueue",
    "Ingestor",
    "KeyValueStore",
    "build_broker",
    "declare_actors",
    "declare_ingestion_actors",
    "forget_worker",
    "record_worker",
    "sweep_dead_workers",
    "workers_key",
]
