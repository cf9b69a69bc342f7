"""Dramatiq's RabbitMQ broker as ragway builds it: chosen by RABBITMQ_URL, durable queues
with their dead-letter queue, publisher confirms, the outbox relayed through it, and the
queue's numbers for metrics (against the machine's RabbitMQ, in a virtual host of our own)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dramatiq
import pika  # type: ignore[import-untyped, unused-ignore]  # no stubs
import psycopg
import pytest
from dramatiq.errors import ConnectionClosed
from psycopg_pool import ConnectionPool

from configs import Settings, SettingsError, load_settings
from ingestion.metrics import IngestionMetrics
from ingestion.queue import Job, OutboxRelay, QueueBroker, build_queue_broker, stage_sync
from ingestion.redis_clients import RedisConnector
from tests.support.net import free_port
from tests.support.rabbitmq import RabbitVhost

QUEUE = "jobs"
UNUSED_REDIS = RedisConnector.of("redis://127.0.0.1:9/0")  # never reached on RabbitMQ


def settings_for(url: str, namespace: str = "rabbit-test") -> Settings:
    return load_settings(
        config_files=[],
        env={
            "RABBITMQ_URL": url,
            "RAGWAY_WORKER__QUEUES": f'["{QUEUE}"]',
            "RAGWAY_WORKER__NAMESPACE": namespace,
            "RAGWAY_QUEUE__RABBITMQ__CONNECT_TIMEOUT_S": "2",
        },
    )


@pytest.fixture
def broker(vhost: RabbitVhost) -> Iterator[QueueBroker]:
    built = build_queue_broker(settings_for(vhost.url), redis=UNUSED_REDIS)
    yield built
    built.flush_all()
    built.close()


@pytest.fixture
def pool(database_url: str) -> Iterator[ConnectionPool[Any]]:
    with ConnectionPool(database_url, min_size=1, max_size=2, kwargs={"autocommit": True}) as p:
        yield p


def message(n: int = 0) -> dramatiq.Message[Any]:
    return dramatiq.Message(queue_name=QUEUE, actor_name="ping", args=(n,), kwargs={}, options={})


def test_rabbitmq_url_chooses_rabbitmq_and_is_a_secret(tmp_path: Path) -> None:
    assert load_settings(config_files=[], env={}).queue.kind == "redis"
    chosen = load_settings(config_files=[], env={"RABBITMQ_URL": "amqp://u:p@host/vh"})
    assert chosen.queue.kind == "rabbitmq"
    assert "u:p" not in repr(chosen.queue)
    pinned = load_settings(
        config_files=[], env={"RABBITMQ_URL": "amqp://h/", "RAGWAY_QUEUE__BROKER": "redis"}
    )
    assert pinned.queue.kind == "redis"
    config = tmp_path / "c.yaml"
    config.write_text("queue:\n  rabbitmq:\n    url: amqp://u:p@host/\n")
    with pytest.raises(SettingsError, match="RABBITMQ_URL"):
        load_settings(config_files=[config], env={})
    wanted = load_settings(config_files=[], env={"RAGWAY_QUEUE__BROKER": "rabbitmq"})
    with pytest.raises(SettingsError, match="RABBITMQ_URL is not set"):
        build_queue_broker(wanted, redis=UNUSED_REDIS)


def test_queues_are_durable_with_a_dead_letter_queue_and_publishes_are_confirmed(
    broker: QueueBroker, vhost: RabbitVhost
) -> None:
    assert broker.kind == "rabbitmq"
    broker.enqueue(message())
    assert vhost.queue_counts(QUEUE) == (1, 0)
    for name in (f"{QUEUE}.DQ", f"{QUEUE}.XQ"):
        assert vhost.queue_counts(name) == (0, 0)
    # Declared durable, dead-lettering to <queue>.XQ: a declaration that differs is refused.
    connection = pika.BlockingConnection(pika.URLParameters(vhost.url))
    try:
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
            connection.channel().queue_declare(QUEUE, durable=False)
        assert refused.value.reply_code == 406  # PRECONDITION_FAILED
        channel = connection.channel()
        channel.queue_declare(
            QUEUE,
            durable=True,
            arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": f"{QUEUE}.XQ"},
        )  # the same declaration: accepted
    finally:
        connection.close()
    # The publishing channel waits for RabbitMQ's confirms, and messages are persistent.
    assert broker.channel._delivery_confirmation  # type: ignore[attr-defined]
    (body,) = vhost.get_all(QUEUE)
    assert dramatiq.Message.decode(body).args == (0,)


def test_depth_dead_letters_and_consumers_are_read_from_rabbitmq(
    broker: QueueBroker, vhost: RabbitVhost
) -> None:
    assert (broker.depth("never-declared"), broker.dead_letters("never-declared")) == (0, 0)
    for n in range(3):
        broker.enqueue(message(n))
    broker.enqueue(message(9), delay=60_000)  # a retry waiting in <queue>.DQ
    assert broker.depth(QUEUE) == 4
    assert broker.live_workers(QUEUE) == 0
    # A message rejected without requeue is dead-lettered, as Dramatiq's worker does with
    # one whose retries ran out.
    connection = pika.BlockingConnection(pika.URLParameters(vhost.url))
    try:
        channel = connection.channel()
        method, _, _ = channel.basic_get(QUEUE)
        assert method is not None
        channel.basic_nack(method.delivery_tag, requeue=False)
        consumer = connection.channel()
        consumer.basic_consume(QUEUE, lambda *_: None)
        assert broker.live_workers(QUEUE) == 1
    finally:
        connection.close()
    assert (broker.depth(QUEUE), broker.dead_letters(QUEUE)) == (3, 1)
    assert broker.live_workers(QUEUE) == 0


def test_metrics_show_depth_dead_letters_and_whether_rabbitmq_answered(
    broker: QueueBroker, vhost: RabbitVhost
) -> None:
    broker.enqueue(message())
    metrics = IngestionMetrics()
    metrics.watch_queues(
        lambda: {QUEUE: (float(broker.depth(QUEUE)), float(broker.dead_letters(QUEUE)))},
        broker="rabbitmq",
    )
    values = {
        (sample.name, sample.labels.get("queue")): sample.value
        for family in metrics.registry.collect()
        for sample in family.samples
    }
    assert values[("ragway_ingestion_queue_depth", QUEUE)] == 1
    assert values[("ragway_ingestion_queue_dead_letters", QUEUE)] == 0
    assert values[("ragway_rabbitmq_up", None)] == 1
    assert ("ragway_redis_up", None) not in values

    down = build_queue_broker(
        settings_for(f"amqp://guest:guest@127.0.0.1:{free_port()}/"), redis=UNUSED_REDIS
    )
    failing = IngestionMetrics()
    failing.watch_queues(lambda: {QUEUE: (float(down.depth(QUEUE)), 0.0)}, broker="rabbitmq")
    samples = {s.name: s.value for f in failing.registry.collect() for s in f.samples}
    assert samples["ragway_rabbitmq_up"] == 0
    down.close()


def test_the_outbox_relay_publishes_through_rabbitmq_and_keeps_jobs_while_it_is_down(
    broker: QueueBroker, vhost: RabbitVhost, pool: ConnectionPool[Any], database_url: str
) -> None:
    namespace = f"rabbit-relay-{secrets.token_hex(4)}"
    jobs = [Job(QUEUE, "ping", (f"token-{n}",)) for n in range(5)]
    with psycopg.connect(database_url, autocommit=True) as conn, conn.transaction():
        stage_sync(conn, namespace, jobs)
    with psycopg.connect(database_url, autocommit=True) as conn:
        staged = [
            str(row[0])
            for row in conn.execute(
                "SELECT message_id FROM outbox WHERE namespace = %s ORDER BY id", (namespace,)
            )
        ]
    try:
        # RabbitMQ unreachable: the publish fails as a broker error and every row stays.
        down = build_queue_broker(
            settings_for(f"amqp://guest:guest@127.0.0.1:{free_port()}/", namespace),
            redis=UNUSED_REDIS,
        )
        relay = OutboxRelay(pool, down, database_url=database_url, metrics=IngestionMetrics())
        with pytest.raises(ConnectionClosed):
            relay.publish_due()
        down.close()
        assert _outbox_rows(database_url, namespace) == 5

        live = build_queue_broker(settings_for(vhost.url, namespace), redis=UNUSED_REDIS)
        relay = OutboxRelay(pool, live, database_url=database_url, metrics=IngestionMetrics())
        assert relay.publish_due() == 5
        live.close()
        assert _outbox_rows(database_url, namespace) == 0
        published = [dramatiq.Message.decode(body) for body in vhost.get_all(QUEUE)]
        assert [m.message_id for m in published] == staged  # the rows' ids, in order
        assert [m.args for m in published] == [job.args for job in jobs]
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("DELETE FROM outbox WHERE namespace = %s", (namespace,))


def _outbox_rows(database_url: str, namespace: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM outbox WHERE namespace = %s", (namespace,)
        ).fetchone()
    assert row is not None
    return int(row[0])
