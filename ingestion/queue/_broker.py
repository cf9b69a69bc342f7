"""The Dramatiq broker on Redis, built explicitly (never Dramatiq's implicit global broker).

Its client comes from ``ingestion.redis_clients`` (a URL, or the master Redis Sentinel
names: after a fail-over the broker's next command reaches the new master).

Its consumers survive a frozen or unreachable Redis quietly: an acknowledgement that fails
(Dramatiq maps only ``redis.ConnectionError``, so a read timeout reached its "You've found
a bug in Dramatiq" handler and the finished message ran again) is retried until Redis
answers, with one warning; a fetch that times out is a connection error (one line, the
consumer restarts) rather than a traceback. An idle consumer waits out its backoff on an
event the relay's announcement sets (``_wakeups``), so a new job starts at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import redis
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import compute_backoff, current_millis, xq_name
from dramatiq.errors import ConnectionClosed
from dramatiq.message import Message

from configs import WorkerSettings
from ingestion import tracing
from ingestion.queue._presence import workers_key
from ingestion.queue._types import QueueBroker
from ingestion.queue._wakeups import Wakeups
from ingestion.redis_clients import RedisConnector

__all__ = ["RedisQueueBroker", "build_broker"]

_log = logging.getLogger(__name__)

_ACK_RETRY_DELAY_S = 0.5
_ACK_RETRY_MIN_S = 30.0
# The broker's commands are Lua scripts over whole queues (maintenance walks a dead worker's
# messages): redis-py's default socket timeout, not the gateway's shorter per-command one.
_BROKER_SOCKET_TIMEOUT_S = 5.0


class _Consumer(_RedisConsumer):
    """Dramatiq's Redis consumer, patient with acknowledgements (see the module docstring)."""

    def ack(self, message: Any) -> None:
        self._settle(("acknowledge", "acknowledged"), super().ack, message)

    def nack(self, message: Any) -> None:
        self._settle(("reject", "rejected"), super().nack, message)

    def __init__(self, broker: Any, queue_name: str, prefetch: int, timeout: int) -> None:
        super().__init__(broker, queue_name, prefetch, timeout)  # type: ignore[no-untyped-call]
        self._woken = broker.wakeups.event(queue_name)

    def __next__(self) -> Any:
        try:
            return self._next()
        except redis.RedisError as exc:  # (ConnectionError too: Dramatiq's mapping, kept)
            raise ConnectionClosed(exc) from None  # type: ignore[no-untyped-call]

    def _next(self) -> Any:
        """Dramatiq 2.2's ``_RedisConsumer.__next__``, but for the wait: on the wake-up
        event, up to the same backoff, not a sleep."""
        while True:
            if self.message_cache:
                data = self.message_cache.pop(0)
                if data is None:  # (Dramatiq's own guard, dramatiq#266)
                    continue
                self.misses = 0
                message = Message.decode(data)
                self.queued_message_ids.add(message.message_id)
                return MessageProxy(message)
            self._woken.clear()  # (a wake from here on ends the wait below)
            messages: list[Any] = []
            if self.outstanding_message_count < self.prefetch:
                self.message_cache = messages = self.broker.do_fetch(
                    self.queue_name, self.prefetch - self.outstanding_message_count
                )
            if not messages:
                self.misses, backoff_ms = compute_backoff(self.misses, max_backoff=self.timeout)
                self._woken.wait(backoff_ms / 1000)
                return None

    def _settle(self, verbs: tuple[str, str], settle: Callable[[Any], None], message: Any) -> None:
        """Retry for a while: given up, the message is delivered again (and skipped)."""
        verb, done = verbs
        retry_s = max(_ACK_RETRY_MIN_S, 2 * self.broker.heartbeat_timeout / 1000)
        deadline = time.monotonic() + retry_s
        failed_at: float | None = None
        while True:
            try:
                settle(message)
            except (redis.RedisError, ConnectionClosed) as exc:
                if failed_at is None:
                    failed_at = time.monotonic()
                    _log.warning(
                        "could not %s a finished message: Redis did not answer; retrying "
                        "for up to %.0fs",
                        verb,
                        retry_s,
                        extra={"message_id": message.message_id, "error": type(exc).__name__},
                    )
                if time.monotonic() >= deadline:
                    _log.error(
                        "gave up trying to %s a finished message; it will be delivered again "
                        "(and skipped if its work is done)",
                        verb,
                        extra={"message_id": message.message_id},
                    )
                    return
                time.sleep(_ACK_RETRY_DELAY_S)
                continue
            if failed_at is not None:
                _log.info(
                    "message %s once Redis answered again",
                    done,
                    extra={
                        "message_id": message.message_id,
                        "after_s": round(time.monotonic() - failed_at, 1),
                    },
                )
            return


class RedisQueueBroker(RedisBroker, QueueBroker):
    """A ``RedisBroker`` whose consumers are :class:`_Consumer`, with ragway's queue stats."""

    kind = "redis"

    wakeups: Wakeups

    @property
    def consumer_class(self) -> type[_Consumer]:
        return _Consumer

    def announce(self, queue_names: Iterable[str]) -> None:
        self.wakeups.announce(queue_names)

    def close(self) -> None:
        self.wakeups.stop()
        super().close()

    def depth(self, queue_name: str) -> int:
        """Messages not acknowledged yet: waiting, delayed for a retry, or being processed."""
        return int(self.do_qsize(queue_name))

    def dead_letters(self, queue_name: str) -> int:
        """Messages that failed for good, kept ``dead_message_ttl`` in ``<queue>.XQ``."""
        client: redis.Redis = self.client
        return int(client.zcard(f"{self.namespace}:{xq_name(queue_name)}"))

    def live_workers(self, queue_name: str) -> int:
        """Workers whose last dead-worker sweep (their heartbeat) is fresher than the
        heartbeat timeout (every worker sweeps every queue it has)."""
        client: redis.Redis = self.client
        fresh_from = current_millis() - self.heartbeat_timeout
        return int(client.zcount(workers_key(self.namespace), fresh_from, "+inf"))


def build_broker(redis: str | RedisConnector, settings: WorkerSettings) -> RedisQueueBroker:
    """A broker whose keys live under ``settings.namespace`` in the given Redis."""
    broker = RedisQueueBroker(  # type: ignore[no-untyped-call]
        client=RedisConnector.of(redis).client(socket_timeout=_BROKER_SOCKET_TIMEOUT_S),
        namespace=settings.namespace,
        heartbeat_timeout=int(settings.heartbeat_timeout_s * 1000),
        maintenance_chance=settings.maintenance_chance,
    )
    broker.wakeups = Wakeups(broker.client, settings.namespace)
    for queue in settings.queues:
        broker.declare_queue(queue)
    broker.add_middleware(tracing.MessageSpans())  # nothing unless tracing is set up
    return broker
