"""The outbox and its relay against a real Postgres and a real Redis broker.

A job staged in a transaction exists only if that transaction commits; the relay publishes
each committed job with the row's uuid as its Dramatiq message id; a broker that fails
mid-pass keeps what was not published and drops (from the outbox) what was; relays in
several processes share the rows without publishing one twice; a relay publishes only its
own namespace's jobs; delayed jobs wait.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import redis
from dramatiq import Message
from psycopg_pool import ConnectionPool

from configs import WorkerSettings
from ingestion.metrics import IngestionMetrics
from ingestion.queue import (
    Job,
    OutboxRelay,
    RedisQueueBroker,
    build_broker,
    outbox_backlog,
    stage,
    stage_sync,
)
from tests.support.net import free_port
from tests.support.services import RedisForTests

QUEUE = "outbox-test"


@pytest.fixture
def namespace(redis_service: RedisForTests, database_url: str) -> Iterator[str]:
    with redis_service.queue_namespace("outbox", database_url) as name:
        yield name


@pytest.fixture
def pool(database_url: str) -> Iterator[ConnectionPool[Any]]:
    with ConnectionPool(database_url, min_size=1, max_size=4, kwargs={"autocommit": True}) as p:
        yield p


def broker_for(url: str, namespace: str) -> RedisQueueBroker:
    return build_broker(url, WorkerSettings(namespace=namespace, queues=(QUEUE,)))


def relay_for(
    pool: ConnectionPool[Any], broker: RedisQueueBroker, database_url: str
) -> OutboxRelay:
    return OutboxRelay(
        pool, broker, database_url=database_url, metrics=IngestionMetrics(), batch_size=50
    )


def queued_ids(broker: RedisQueueBroker) -> list[str]:
    """The Dramatiq message ids waiting in ``QUEUE``, in order."""
    messages = broker.do_fetch(QUEUE, 10_000) or []
    return [Message.decode(encoded).message_id for encoded in messages]


def stage_now(pool: ConnectionPool[Any], namespace: str, jobs: list[Job]) -> list[str]:
    """Stage ``jobs`` in one committed transaction; returns their outbox message ids."""
    with pool.connection() as conn, conn.transaction():
        before = conn.execute("SELECT coalesce(max(id), 0) FROM outbox").fetchone()
        stage_sync(conn, namespace, jobs)
        rows = conn.execute(
            "SELECT message_id FROM outbox WHERE namespace = %s AND id > %s ORDER BY id",
            (namespace, before[0] if before else 0),
        ).fetchall()
    return [str(row[0]) for row in rows]


def pings(n: int, *, delay_s: float = 0.0) -> list[Job]:
    return [Job(QUEUE, "ping", (f"token-{i}",), delay_s) for i in range(n)]


def stage_then_fail(pool: ConnectionPool[Any], namespace: str, jobs: list[Job]) -> None:
    with pool.connection() as conn, conn.transaction():
        stage_sync(conn, namespace, jobs)
        raise RuntimeError("the change that needed them failed")


def test_only_committed_jobs_are_published_with_the_rows_ids(
    pool: ConnectionPool[Any], namespace: str, redis_service: RedisForTests, database_url: str
) -> None:
    with pytest.raises(RuntimeError):
        stage_then_fail(pool, namespace, pings(3))
    ids = stage_now(pool, namespace, pings(4))
    broker = broker_for(redis_service.url, namespace)
    relay = relay_for(pool, broker, database_url)
    assert relay.publish_due() == 4
    assert relay.publish_due() == 0
    assert queued_ids(broker) == ids
    assert outbox_backlog(pool, namespace) == (0.0, 0.0)
    broker.close()


async def stage_async(database_url: str, namespace: str, jobs: list[Job], *, fail: bool) -> None:
    async with await psycopg.AsyncConnection.connect(database_url) as conn, conn.transaction():
        await stage(conn, namespace, jobs)
        if fail:
            raise RuntimeError("rolled back")


def test_the_async_stage_joins_the_callers_transaction(
    namespace: str, database_url: str, pool: ConnectionPool[Any]
) -> None:
    asyncio.run(stage_async(database_url, namespace, pings(2), fail=False))
    with pytest.raises(RuntimeError):
        asyncio.run(stage_async(database_url, namespace, pings(5), fail=True))
    depth, _ = outbox_backlog(pool, namespace)
    assert depth == 2


def test_a_broker_failing_mid_pass_keeps_the_unpublished_and_drops_the_published(
    pool: ConnectionPool[Any], namespace: str, redis_service: RedisForTests, database_url: str
) -> None:
    ids = stage_now(pool, namespace, pings(10))
    dead = broker_for(f"redis://127.0.0.1:{free_port()}/0", namespace)
    with pytest.raises(redis.ConnectionError):
        relay_for(pool, dead, database_url).publish_due()
    depth, oldest = outbox_backlog(pool, namespace)
    assert depth == 10
    assert oldest >= 0

    live = broker_for(redis_service.url, namespace)
    flaky = _FailsAfter(live, 4)
    with pytest.raises(redis.ConnectionError):
        relay_for(pool, flaky, database_url).publish_due()
    assert outbox_backlog(pool, namespace)[0] == 6  # the 4 published left the outbox
    assert relay_for(pool, live, database_url).publish_due() == 6
    assert queued_ids(live) == ids  # each once, in order
    live.close()


def test_relays_in_parallel_publish_every_job_once(
    pool: ConnectionPool[Any], namespace: str, redis_service: RedisForTests, database_url: str
) -> None:
    ids = stage_now(pool, namespace, pings(600))
    brokers = [broker_for(redis_service.url, namespace) for _ in range(3)]
    relays = [relay_for(pool, b, database_url) for b in brokers]

    def drain(relay: OutboxRelay) -> None:
        while relay.publish_due():
            pass

    threads = [threading.Thread(target=drain, args=(r,)) for r in relays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    published = queued_ids(brokers[0])
    assert sorted(published) == sorted(ids)
    for broker in brokers:
        broker.close()


def test_a_relay_takes_only_its_namespace_and_waits_for_delayed_jobs(
    pool: ConnectionPool[Any], namespace: str, redis_service: RedisForTests, database_url: str
) -> None:
    other = f"{namespace}-other"
    stage_now(pool, other, pings(3))
    later = stage_now(pool, namespace, pings(2, delay_s=0.5))
    broker = broker_for(redis_service.url, namespace)
    relay = relay_for(pool, broker, database_url)
    assert relay.publish_due() == 0
    assert outbox_backlog(pool, namespace) == (2.0, 0.0)  # nothing due yet
    threading.Event().wait(0.7)
    assert relay.publish_due() == 2
    assert queued_ids(broker) == later
    assert outbox_backlog(pool, other)[0] == 3
    with pool.connection() as conn:
        conn.execute("DELETE FROM outbox WHERE namespace = %s", (other,))
    broker.close()


def test_a_running_relay_is_woken_by_the_commit(
    pool: ConnectionPool[Any], namespace: str, redis_service: RedisForTests, database_url: str
) -> None:
    broker = broker_for(redis_service.url, namespace)
    metrics = IngestionMetrics()
    relay = OutboxRelay(pool, broker, database_url=database_url, metrics=metrics, interval_s=30.0)
    relay.start()
    try:
        threading.Event().wait(0.5)  # listening
        ids = stage_now(pool, namespace, pings(3))
        deadline = threading.Event()
        for _ in range(50):  # well under the 30 s poll: the NOTIFY woke it
            if outbox_backlog(pool, namespace)[0] == 0:
                break
            deadline.wait(0.1)
        assert outbox_backlog(pool, namespace)[0] == 0
    finally:
        relay.stop()
    assert queued_ids(broker) == ids
    assert metrics.outbox_published._value.get() == 3
    broker.close()


class _FailsAfter(RedisQueueBroker):
    """The live broker until ``n`` messages are published, then Redis "goes away"."""

    def __init__(self, live: RedisQueueBroker, n: int) -> None:
        self.__dict__.update(live.__dict__)
        self._left = n

    def enqueue(self, message: Any, *, delay: int | None = None) -> Any:
        if self._left == 0:
            raise redis.ConnectionError("connection reset")
        self._left -= 1
        return super().enqueue(message, delay=delay)
