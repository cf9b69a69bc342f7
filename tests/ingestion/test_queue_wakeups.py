"""An idle worker starts a job the outbox relay publishes at once, not after its poll backoff.

A real Redis broker, a real Dramatiq worker whose consumers have backed off to a poll every
2.5-5 s (``worker_timeout``), the relay publishing from Postgres: with the relay's
announcement the job starts within a fraction of a second (without it, the start would be
anywhere in the poll's wait: both jobs under 0.5 s would be a 1-in-100 chance).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest
from psycopg_pool import ConnectionPool

from configs import WorkerSettings
from ingestion.metrics import IngestionMetrics
from ingestion.queue import Job, OutboxRelay, build_broker, stage_sync
from tests.support.services import RedisForTests

QUEUE = "wake-test"
POLL_MS = 5_000  # the idle consumers' longest backoff


@pytest.fixture
def namespace(redis_service: RedisForTests, database_url: str) -> Iterator[str]:
    with redis_service.queue_namespace("wake", database_url) as name:
        yield name


def _started_after(redis_url: str, namespace: str, database_url: str) -> list[float]:
    """Seconds from each job's commit to its start, jobs staged one at a time into a worker
    that has been idle long enough to poll every ``POLL_MS``."""
    broker = build_broker(redis_url, WorkerSettings(namespace=namespace, queues=(QUEUE,)))
    started: list[float] = []
    ran = threading.Event()

    @dramatiq.actor(broker=broker, queue_name=QUEUE, actor_name="wake_probe", max_retries=0)
    def probe(committed_at: float) -> None:
        started.append(time.time() - committed_at)
        ran.set()

    worker = dramatiq.Worker(broker, queues={QUEUE}, worker_threads=1, worker_timeout=POLL_MS)
    pool: ConnectionPool[Any] = ConnectionPool(
        database_url, min_size=1, max_size=2, kwargs={"autocommit": True}, open=True
    )
    relay = OutboxRelay(
        pool, broker, database_url=database_url, metrics=IngestionMetrics(), batch_size=50
    )
    worker.start()
    try:
        for _ in range(2):
            time.sleep(6)  # idle: the consumer's backoff grows to POLL_MS
            ran.clear()
            with pool.connection() as conn, conn.transaction():
                stage_sync(conn, namespace, [Job(QUEUE, "wake_probe", (time.time(),))])
            relay.publish_due()
            assert ran.wait(POLL_MS / 1000 + 5), "the job never ran"
    finally:
        worker.stop()
        broker.close()
        pool.close()
    return started


def test_a_relayed_job_wakes_an_idle_worker(
    redis_service: RedisForTests, namespace: str, database_url: str
) -> None:
    started = _started_after(redis_service.url, namespace, database_url)
    assert max(started) < 0.5, started
