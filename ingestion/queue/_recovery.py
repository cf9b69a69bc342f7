"""Deterministic recovery of a dead worker's messages, on a timer instead of by chance.

Dramatiq's ``RedisBroker`` keeps each worker's fetched-but-unacknowledged message ids in
``<namespace>:__acks__.<worker id>.<queue>`` and each worker's last call in the sorted set
``<namespace>:__heartbeats__``. Its ``dispatch.lua`` moves a dead worker's messages (one
silent longer than the heartbeat timeout) back to their queue only during "maintenance",
which runs on a random ``maintenance_chance`` of broker calls: with an idle queue that can
take many minutes. :class:`DeadWorkerSweeper` runs that same maintenance for every queue
of the worker every few seconds. Each sweep is also this worker's heartbeat, so a worker
busy with long files (whose consumers do not fetch) never looks dead to another's sweep,
and its presence in the workers' own set (``_presence``), which the console counts.

We call the broker's own Lua script with its own argument layout (dramatiq 2.x,
``dispatch(args=[command, timestamp, queue, worker id, heartbeat timeout, dead message
ttl, do_maintenance, max unpack size, ...], keys=[namespace])``);
``tests/ingestion/test_dead_worker_recovery.py`` fails clearly if that layout changes.
"""

from __future__ import annotations

import contextlib
import logging
import threading

import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import current_millis, dq_name

from ingestion.queue._presence import forget_worker, record_worker

__all__ = ["DeadWorkerSweeper", "sweep_dead_workers"]

_log = logging.getLogger(__name__)


def sweep_dead_workers(broker: RedisBroker, queue_name: str) -> None:
    """Requeue the unacknowledged messages of ``queue_name`` held by dead workers (once)."""
    dispatch = broker.scripts["dispatch"]
    dispatch(
        keys=[broker.namespace],
        args=[
            "qsize",  # a read-only command: the maintenance before it is the point
            current_millis(),
            queue_name,
            broker.broker_id,
            broker.heartbeat_timeout,
            broker.dead_message_ttl,
            1,  # do_maintenance
            broker._max_unpack_size(),  # type: ignore[no-untyped-call]
        ],
    )


class DeadWorkerSweeper:
    """A daemon thread sweeping every queue (and its delay queue) each ``interval_s``."""

    def __init__(self, broker: RedisBroker, queues: tuple[str, ...], *, interval_s: float) -> None:
        self._broker = broker
        self._queues = tuple(name for queue in queues for name in (queue, dq_name(queue)))
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="dead-worker-sweep")
        self._failing = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self._interval_s + 5)
        with contextlib.suppress(redis.RedisError):  # else it ages out after the timeout
            forget_worker(self._broker)

    def sweep(self) -> None:
        """One pass over every queue; a Redis error is logged once until Redis answers again."""
        try:
            for queue in self._queues:
                sweep_dead_workers(self._broker, queue)
            record_worker(self._broker)
        except redis.RedisError as exc:
            if not self._failing:
                _log.warning(
                    "could not look for dead workers' messages; retrying every %.1fs",
                    self._interval_s,
                    extra={"error": f"{type(exc).__name__}: {exc}"},
                )
            self._failing = True
            return
        if self._failing:
            _log.info("looking for dead workers' messages again")
        self._failing = False

    def _run(self) -> None:
        while True:
            self.sweep()
            if self._stop.wait(self._interval_s):
                return
