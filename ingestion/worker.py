"""The worker process: a Dramatiq worker consuming ragway's queues until told to stop."""

from __future__ import annotations

import asyncio
import logging
import threading

import dramatiq
import redis

from configs import Settings
from ingestion.db import migrate_when_ready
from ingestion.queue import build_broker, declare_actors

__all__ = ["run_worker"]

_log = logging.getLogger(__name__)


def run_worker(
    settings: Settings, *, database_url: str, redis_url: str, stop: threading.Event
) -> None:
    """Migrate (if configured), consume until ``stop`` is set, then shut down gracefully.

    Messages being processed when ``stop`` is set finish (up to the shutdown timeout);
    unacknowledged ones go back to the queue for the next worker.
    """
    if settings.database.migrate_on_start:
        asyncio.run(
            migrate_when_ready(
                database_url,
                wait_s=settings.database.migrate_wait_s,
                connect_timeout_s=settings.database.connect_timeout_s,
            )
        )
    store = redis.Redis.from_url(redis_url, socket_timeout=settings.redis.socket_timeout_s)
    broker = build_broker(redis_url, settings.worker)
    declare_actors(broker, store=store, key_prefix=settings.redis.key_prefix)
    worker = dramatiq.Worker(
        broker, queues=set(settings.worker.queues), worker_threads=settings.worker.threads
    )
    worker.start()
    _log.info(
        "worker started",
        extra={"queues": list(settings.worker.queues), "threads": settings.worker.threads},
    )
    stop.wait()
    _log.info("worker stopping")
    worker.stop(timeout=int(settings.worker.shutdown_timeout_s * 1000))
    broker.close()
    store.close()
    _log.info("worker stopped")
