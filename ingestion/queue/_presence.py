"""Which ingestion workers are alive: a sorted set only workers write to.

Dramatiq's ``<namespace>:__heartbeats__`` also holds every gateway process that enqueued a
message (each broker call is a heartbeat), so it cannot tell workers apart. Each worker's
:class:`~ingestion.queue.DeadWorkerSweeper` pass also records the worker here (member: its
broker id, score: now in ms) and drops entries older than the heartbeat timeout; a reader
counts the members fresher than that timeout.
"""

from __future__ import annotations

import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import current_millis

__all__ = ["forget_worker", "record_worker", "workers_key"]


def workers_key(namespace: str) -> str:
    """The sorted set of live workers of a Dramatiq namespace."""
    return f"{namespace}:__ragway_workers__"


def record_worker(broker: RedisBroker, *, now_ms: int | None = None) -> None:
    """This worker is alive now; entries silent past the heartbeat timeout are pruned."""
    now = current_millis() if now_ms is None else now_ms
    key = workers_key(broker.namespace)
    client: redis.Redis = broker.client
    with client.pipeline(transaction=False) as pipe:
        pipe.zadd(key, {broker.broker_id: now})
        pipe.zremrangebyscore(key, "-inf", f"({now - broker.heartbeat_timeout}")
        pipe.execute()


def forget_worker(broker: RedisBroker) -> None:
    """A worker stopping cleanly leaves the set at once (not a timeout later)."""
    client: redis.Redis = broker.client
    client.zrem(workers_key(broker.namespace), broker.broker_id)
