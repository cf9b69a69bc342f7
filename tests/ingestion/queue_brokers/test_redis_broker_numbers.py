"""The Redis broker's numbers, as the RabbitMQ one reports them: depth, dead letters (its
``<queue>.XQ`` sorted set) and live workers (their sweeps), read from the session's Redis."""

from __future__ import annotations

import secrets
from typing import Any

import dramatiq

from configs import WorkerSettings
from ingestion.queue import IngestionQueue, build_broker, forget_worker, record_worker
from tests.support.services import RedisForTests


def test_depth_dead_letters_and_live_workers_on_redis(redis_service: RedisForTests) -> None:
    namespace = f"{redis_service.namespace}-numbers-{secrets.token_hex(3)}"
    broker = build_broker(redis_service.url, WorkerSettings(namespace=namespace, queues=("q",)))
    try:
        assert broker.kind == "redis"
        for n in range(3):
            message: dramatiq.Message[Any] = dramatiq.Message(
                queue_name="q", actor_name="a", args=(n,), kwargs={}, options={}
            )
            broker.enqueue(message)
        queue = IngestionQueue(broker, queue_name="q")
        assert (queue.depth(), queue.dead_letters(), queue.workers()) == (3, 0, 0)
        consumer = broker.consume("q", prefetch=1, timeout=100)
        failed = next(consumer)
        assert failed is not None
        consumer.nack(failed)  # what the worker does with a message whose retries ran out
        consumer.close()
        record_worker(broker)
        assert (queue.depth(), queue.dead_letters(), queue.workers()) == (2, 1, 1)
        forget_worker(broker)
        assert queue.workers() == 0
    finally:
        client = broker.client
        for key in client.scan_iter(match=f"{namespace}*"):
            client.delete(key)
        broker.close()
