"""Dramatiq's RabbitMQ broker, as ragway runs it (``queue.broker: rabbitmq``).

Dramatiq declares each queue ``q`` durable with a delay queue ``q.DQ`` and a dead-letter
queue ``q.XQ`` (RabbitMQ dead-letters a rejected message there: Dramatiq rejects one whose
retries ran out), publishes persistent messages, and here waits for RabbitMQ's confirm of
each publish (``confirm_delivery``), so the outbox relay deletes a job only once RabbitMQ has
it. A worker whose connection dies (killed, partitioned, its heartbeats missed) gets its
unacknowledged messages delivered again by RabbitMQ itself: nothing like the Redis broker's
dead-worker sweep is needed.

The queues' numbers come from passive ``queue.declare`` (AMQP has nothing else; RabbitMQ's
management API is not assumed): ready messages and consumers. Messages delivered to a worker
and not yet acknowledged are not in ``depth``. They are read on a connection of this
broker's own, behind a lock: Dramatiq's per-thread connections would leave one open per
thread of the metrics server.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

import pika  # type: ignore[import-untyped, unused-ignore]  # no stubs
import pika.exceptions  # type: ignore[import-untyped, unused-ignore]
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.common import dq_name, xq_name
from dramatiq.errors import ConnectionClosed
from dramatiq.message import Message

from configs import RabbitmqSettings, WorkerSettings
from ingestion import tracing
from ingestion.queue._types import QueueBroker

__all__ = ["RabbitmqQueueBroker", "build_rabbitmq_broker", "connection_parameters"]

_NOT_FOUND = 404


def connection_parameters(url: str, settings: RabbitmqSettings) -> pika.URLParameters:
    """``url``'s parameters with the settings' timeouts and heartbeat (the settings win
    over the same options in the URL's query)."""
    parameters = pika.URLParameters(url)
    parameters.heartbeat = settings.heartbeat_s
    parameters.socket_timeout = settings.connect_timeout_s
    parameters.stack_timeout = settings.connect_timeout_s
    parameters.blocked_connection_timeout = settings.blocked_connection_timeout_s
    return parameters


class RabbitmqQueueBroker(RabbitmqBroker, QueueBroker):
    """``RabbitmqBroker`` with a namespace (for the outbox), queue numbers, and every pika
    error of a publish raised as Dramatiq's ``ConnectionClosed``."""

    kind = "rabbitmq"

    def __init__(self, *, namespace: str, **options: Any) -> None:
        super().__init__(**options)
        self.namespace = namespace
        self._stats_lock = threading.Lock()
        self._stats: pika.BlockingConnection | None = None
        self._stats_channel: Any = None

    def enqueue(self, message: Message[Any], *, delay: int | None = None) -> Message[Any]:
        try:
            return super().enqueue(message, delay=delay)
        except pika.exceptions.AMQPError as exc:  # Dramatiq maps only connection/channel ones
            raise ConnectionClosed(exc) from exc  # type: ignore[no-untyped-call]

    def depth(self, queue_name: str) -> int:
        """Ready messages in the queue and its delay queue (not those a worker holds)."""
        return self._count(queue_name) + self._count(dq_name(queue_name))

    def dead_letters(self, queue_name: str) -> int:
        return self._count(xq_name(queue_name))

    def live_workers(self, queue_name: str) -> int:
        """Consumers of the queue: one per worker process that consumes it."""
        return self._declared(queue_name, lambda ok: int(ok.method.consumer_count))

    def close(self) -> None:
        with self._stats_lock:
            self._drop_stats()
        super().close()

    # -- internals -------------------------------------------------------------------
    def _count(self, name: str) -> int:
        return self._declared(name, lambda ok: int(ok.method.message_count))

    def _declared(self, name: str, read: Callable[[Any], int]) -> int:
        """``read`` of a passive declare of ``name`` (0 for a queue not declared yet); one
        retry on a fresh connection (the last may have timed out between two scrapes)."""
        with self._stats_lock:
            for attempt in (1, 2):
                try:
                    return read(self._stats_channel_now().queue_declare(name, passive=True))
                except pika.exceptions.ChannelClosedByBroker as exc:
                    self._stats_channel = None
                    if exc.reply_code == _NOT_FOUND:
                        return 0
                    raise ConnectionClosed(exc) from exc  # type: ignore[no-untyped-call]
                except pika.exceptions.AMQPError as exc:
                    self._drop_stats()
                    if attempt == 2:
                        raise ConnectionClosed(exc) from exc  # type: ignore[no-untyped-call]
        raise AssertionError("unreachable")

    def _stats_channel_now(self) -> Any:
        if self._stats is None or not self._stats.is_open:
            self._stats = pika.BlockingConnection(self.parameters)
            self._stats_channel = None
        if self._stats_channel is None or not self._stats_channel.is_open:
            self._stats_channel = self._stats.channel()
        return self._stats_channel

    def _drop_stats(self) -> None:
        connection, self._stats, self._stats_channel = self._stats, None, None
        if connection is not None and connection.is_open:
            with contextlib.suppress(pika.exceptions.AMQPError):  # gone already: nothing lost
                connection.close()


def build_rabbitmq_broker(
    url: str, settings: RabbitmqSettings, worker: WorkerSettings
) -> RabbitmqQueueBroker:
    """The broker of ``worker.queues`` on the RabbitMQ at ``url`` (nothing connects yet)."""
    broker = RabbitmqQueueBroker(
        namespace=worker.namespace, url=url, confirm_delivery=settings.confirm_delivery
    )
    broker.parameters = connection_parameters(url, settings)
    for queue in worker.queues:
        broker.declare_queue(queue)
    broker.add_middleware(tracing.MessageSpans())  # nothing unless tracing is set up
    return broker
