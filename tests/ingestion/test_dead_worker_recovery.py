"""``sweep_dead_workers`` against a real Redis: it leans on dramatiq's ``dispatch.lua``.

If a dramatiq upgrade changes where the broker keeps unacknowledged messages and
heartbeats, or its script's arguments, these fail here rather than in production.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker

from configs import WorkerSettings
from ingestion.queue import build_broker, sweep_dead_workers
from tests.support.services import RedisForTests

QUEUE = "ingestion"


@pytest.fixture
def namespace(redis_service: RedisForTests) -> Iterator[str]:
    name = f"{redis_service.namespace}-sweep-{secrets.token_hex(4)}"
    yield name
    client = redis.Redis.from_url(redis_service.url)
    for key in client.scan_iter(match=f"{name}*"):
        client.delete(key)
    client.close()


def fetched_by_a_worker(url: str, namespace: str) -> tuple[RedisBroker, str]:
    """A broker (a worker) that fetched one message and never acknowledged it."""
    broker = build_broker(url, WorkerSettings(namespace=namespace, queues=(QUEUE,)))
    broker.enqueue(
        dramatiq.Message(
            queue_name=QUEUE, actor_name="ingest_file", args=("vs", "f"), kwargs={}, options={}
        )
    )
    assert len(broker.do_fetch(QUEUE, 1)) == 1
    return broker, broker.broker_id


def test_a_dead_workers_message_goes_back_to_its_queue(
    redis_service: RedisForTests, namespace: str
) -> None:
    client = redis.Redis.from_url(redis_service.url)
    dead, dead_id = fetched_by_a_worker(redis_service.url, namespace)
    acks = f"{namespace}:__acks__.{dead_id}.{QUEUE}"
    assert client.scard(acks) == 1
    assert client.llen(f"{namespace}:{QUEUE}") == 0
    live = build_broker(
        redis_service.url,
        WorkerSettings(namespace=namespace, queues=(QUEUE,), heartbeat_timeout_s=30),
    )
    try:
        sweep_dead_workers(live, QUEUE)  # the dead worker's heartbeat is recent: not yet
        assert client.scard(acks) == 1
        client.zadd(f"{namespace}:__heartbeats__", {dead_id: 0})  # silent since 1970
        sweep_dead_workers(live, QUEUE)
        assert client.scard(acks) == 0
        assert client.llen(f"{namespace}:{QUEUE}") == 1
        assert client.zscore(f"{namespace}:__heartbeats__", live.broker_id) is not None
    finally:
        dead.close()
        live.close()
        client.close()
