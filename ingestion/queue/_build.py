"""The broker a process uses, by ``queue.broker``: Redis (default) or RabbitMQ."""

from __future__ import annotations

from configs import Settings, SettingsError
from ingestion.queue._broker import build_broker
from ingestion.queue._types import QueueBroker
from ingestion.redis_clients import RedisConnector

__all__ = ["build_queue_broker"]


def build_queue_broker(settings: Settings, *, redis: RedisConnector) -> QueueBroker:
    """The broker of ``settings.worker.queues``; nothing connects before its first use.

    RabbitMQ's client (pika) is imported only when the broker is RabbitMQ.
    """
    queue = settings.queue
    if queue.kind == "redis":
        return build_broker(redis, settings.worker)
    if queue.rabbitmq.url is None:
        raise SettingsError("queue.broker is rabbitmq but RABBITMQ_URL is not set")
    from ingestion.queue._rabbitmq import build_rabbitmq_broker

    return build_rabbitmq_broker(
        queue.rabbitmq.url.get_secret_value(), queue.rabbitmq, settings.worker
    )
