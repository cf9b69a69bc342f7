"""``sweep_dead_workers`` against a real Redis: it leans on dramatiq's ``dispatch.lua``.

Also the workers' own presence set (``_presence``): each sweep records the worker, stale
entries are pruned, a clean stop leaves at once, and gateways that enqueue never appear.

If a dramatiq upgrade changes where the broker keeps unacknowledged messages and
heartbeats, or its script's arguments, these fail here rather than in production.
"""

from __future__ import annotations

from collections.abc import Iterator

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import current_millis

from configs import WorkerSettings
from ingestion.queue import (
    DeadWorkerSweeper,
    IngestionQueue,
    build_broker,
    sweep_dead_workers,
    workers_key,
)
from tests.support.services import RedisForTests

QUEUE = "ingestion"


@pytest.fixture
def namespace(redis_service: RedisForTests) -> Iterator[str]:
    with redis_service.queue_namespace("sweep") as name:
        yield name


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


def test_a_sweep_records_the_worker_and_prunes_the_silent(
    redis_service: RedisForTests, namespace: str
) -> None:
    settings = WorkerSettings(namespace=namespace, queues=(QUEUE,), heartbeat_timeout_s=30)
    worker = build_broker(redis_service.url, settings)
    gateway = build_broker(redis_service.url, settings)
    client = redis.Redis.from_url(redis_service.url)
    key = workers_key(namespace)
    try:
        # a gateway that enqueues is in dramatiq's heartbeats, never in the workers' set
        IngestionQueue(gateway, queue_name=QUEUE).enqueue([("vs", "f")])
        client.zadd(key, {"long-gone": 0, "just-fresh": current_millis() - 29_000})
        sweeper = DeadWorkerSweeper(worker, (QUEUE,), interval_s=60)
        before = current_millis()
        sweeper.sweep()
        pairs: list[tuple[bytes, float]] = client.zrange(key, 0, -1, withscores=True)  # type: ignore[assignment]
        members = {member.decode(): score for member, score in pairs}
        assert set(members) == {worker.broker_id, "just-fresh"}
        assert members[worker.broker_id] >= before
        assert gateway.broker_id not in members
        assert client.zscore(f"{namespace}:__heartbeats__", gateway.broker_id) is not None
        sweeper.start()
        sweeper.stop()  # a clean stop leaves the set at once
        assert client.zscore(key, worker.broker_id) is None
    finally:
        worker.close()
        gateway.close()
        client.close()


def test_a_sweep_without_redis_is_logged_not_raised(namespace: str) -> None:
    broker = build_broker(
        "redis://127.0.0.1:1/0", WorkerSettings(namespace=namespace, queues=(QUEUE,))
    )
    sweeper = DeadWorkerSweeper(broker, (QUEUE,), interval_s=60)
    sweeper.sweep()  # no exception: the next sweep tries again
    broker.close()
