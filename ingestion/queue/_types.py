"""What ragway needs of a Dramatiq broker beyond Dramatiq's own interface, whichever the
server (Redis or RabbitMQ): a namespace for the outbox and the queue's numbers for metrics."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import ClassVar, Literal

from dramatiq import Broker

__all__ = ["QueueBroker"]


class QueueBroker(Broker, ABC):
    """A Dramatiq broker that also reports on its queues (for metrics and the console).

    ``namespace`` names the deployment's jobs in the outbox (and, on Redis, prefixes the
    broker's keys). The numbers are read from the server at each call and raise the
    broker's connection errors (``redis.RedisError``, ``dramatiq.errors.ConnectionClosed``).
    """

    kind: ClassVar[Literal["redis", "rabbitmq"]]
    namespace: str

    @abstractmethod
    def depth(self, queue_name: str) -> int:
        """Messages of ``queue_name`` (and its delay queue) not done with yet."""

    @abstractmethod
    def dead_letters(self, queue_name: str) -> int:
        """Messages of ``queue_name`` that failed for good (its dead-letter queue)."""

    @abstractmethod
    def live_workers(self, queue_name: str) -> int:
        """Worker processes consuming ``queue_name`` now."""

    def announce(self, queue_names: Iterable[str]) -> None:
        """Tell idle consumers that ``queue_names`` have new messages (the outbox relay
        calls it after each pass; nothing to do where the server pushes messages)."""
