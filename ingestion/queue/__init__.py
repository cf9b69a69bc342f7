"""The job queue: a Dramatiq broker on Redis or RabbitMQ, the actors workers run, and the
outbox (jobs staged in Postgres with the change that needs them, relayed to the broker)."""

from __future__ import annotations

from ingestion.queue._actors import PING_ACTOR, Actors, KeyValueStore, declare_actors
from ingestion.queue._broker import RedisQueueBroker, build_broker
from ingestion.queue._build import build_queue_broker
from ingestion.queue._enqueue import IngestionQueue
from ingestion.queue._ingestion import (
    INGEST_ACTOR,
    INGEST_GAVE_UP_ACTOR,
    FailureRecorder,
    IngestionActors,
    Ingestor,
    declare_ingestion_actors,
)
from ingestion.queue._outbox import NOTIFY_CHANNEL, Job, stage, stage_sync
from ingestion.queue._presence import forget_worker, record_worker, workers_key
from ingestion.queue._recovery import DeadWorkerSweeper, sweep_dead_workers
from ingestion.queue._relay import OutboxRelay, outbox_backlog
from ingestion.queue._types import QueueBroker

__all__ = [
    "INGEST_ACTOR",
    "INGEST_GAVE_UP_ACTOR",
    "NOTIFY_CHANNEL",
    "PING_ACTOR",
    "Actors",
    "DeadWorkerSweeper",
    "FailureRecorder",
    "IngestionActors",
    "IngestionQueue",
    "Ingestor",
    "Job",
    "KeyValueStore",
    "OutboxRelay",
    "QueueBroker",
    "RedisQueueBroker",
    "build_broker",
    "build_queue_broker",
    "declare_actors",
    "declare_ingestion_actors",
    "forget_worker",
    "outbox_backlog",
    "record_worker",
    "stage",
    "stage_sync",
    "sweep_dead_workers",
    "workers_key",
]
