"""Settings of the job queue's broker: Redis (the default) or an existing RabbitMQ."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from configs._strict import Strict

__all__ = ["BrokerKind", "QueueSettings", "RabbitmqSettings"]

BrokerKind = Literal["redis", "rabbitmq"]


class RabbitmqSettings(Strict):
    """Dramatiq's RabbitMQ broker. ``url`` is a secret: only ``RABBITMQ_URL`` sets it.

    Queues are durable, every publish waits for RabbitMQ's confirm, and each queue ``q`` has
    its delay queue ``q.DQ`` and dead-letter queue ``q.XQ``. Dramatiq's queue names carry no
    namespace: deployments sharing one RabbitMQ keep apart by virtual host (the URL's path).
    """

    url: SecretStr | None = Field(
        default=None,
        description="amqp:// or amqps:// URL (its path is the virtual host); only RABBITMQ_URL "
        "sets it",
    )
    confirm_delivery: bool = Field(
        default=True,
        description="each publish waits until RabbitMQ has taken the message (publisher "
        "confirms): the outbox deletes a job only once its message is safe",
    )
    heartbeat_s: int = Field(
        default=60,
        ge=0,
        le=3600,
        description="AMQP heartbeat: a peer silent for two of these is gone (0: none)",
    )
    connect_timeout_s: float = Field(
        default=5.0, gt=0, le=300, description="one connection attempt (TCP and AMQP handshake)"
    )
    blocked_connection_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="a publish RabbitMQ blocks this long (memory or disk alarm) fails, and the "
        "outbox relay retries it later",
    )


class QueueSettings(Strict):
    """Which broker carries the jobs the outbox relays (ingestion, batches, responses,
    webhooks)."""

    broker: Literal["auto", "redis", "rabbitmq"] = Field(
        default="auto",
        description="auto: rabbitmq when RABBITMQ_URL is set, else redis",
    )
    rabbitmq: RabbitmqSettings = RabbitmqSettings()

    @property
    def kind(self) -> BrokerKind:
        """The broker this process uses (``auto`` resolved)."""
        if self.broker == "auto":
            return "rabbitmq" if self.rabbitmq.url is not None else "redis"
        return self.broker
