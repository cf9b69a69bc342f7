"""The Dramatiq broker on Redis, built explicitly (never Dramatiq's implicit global broker)."""

from __future__ import annotations

from dramatiq.brokers.redis import RedisBroker

from configs import WorkerSettings

__all__ = ["build_broker"]


def build_broker(redis_url: str, settings: WorkerSettings) -> RedisBroker:
    """A broker whose keys live under ``settings.namespace`` in the given Redis."""
    broker = RedisBroker(  # type: ignore[no-untyped-call]
        url=redis_url,
        namespace=settings.namespace,
        heartbeat_timeout=int(settings.heartbeat_timeout_s * 1000),
        maintenance_chance=settings.maintenance_chance,
    )
    for queue in settings.queues:
        broker.declare_queue(queue)
    return broker
