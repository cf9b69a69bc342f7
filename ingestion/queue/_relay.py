"""The outbox relay: publishes staged jobs to the Dramatiq broker, then deletes their rows.

The broker is Redis or RabbitMQ (``queue.broker``); on RabbitMQ each publish returns once
RabbitMQ confirmed it (publisher confirms), so a deleted row's message is on the broker.

Each pass claims up to ``batch_size`` due rows of its broker's namespace with ``FOR UPDATE
SKIP LOCKED`` (so relays in several workers share the work without waiting on each other),
publishes them in order
and deletes the published ones in the same transaction. Killed between a publish and the
commit, the rows stay and are published again by the next pass: a message may arrive twice,
never not at all, and every actor is idempotent (its message carries the row's uuid as its
Dramatiq message id, so logs show a repeat as such).

A relay sleeps until ``NOTIFY ragway_outbox`` (sent by :func:`~ingestion.queue.stage` at
commit) on a connection of its own, or ``interval_s`` as a backstop. Without a
``database_url`` (behind a pooler in transaction mode, which cannot keep a ``LISTEN``) it
only polls, every ``interval_s``. While the broker is down it retries with backoff and
says so once; the rows wait in Postgres, where the jobs were accepted.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any

import dramatiq
import psycopg
import redis
from dramatiq.errors import DramatiqError
from psycopg_pool import ConnectionPool

from ingestion.metrics import IngestionMetrics
from ingestion.queue._outbox import NOTIFY_CHANNEL
from ingestion.queue._types import QueueBroker

__all__ = ["OutboxRelay", "outbox_backlog"]

_log = logging.getLogger(__name__)

_CLAIM = (
    "SELECT id, message_id, queue_name, actor_name, args, available_at, now(), traceparent "
    "FROM outbox "
    "WHERE namespace = %s AND available_at <= now() ORDER BY available_at, id LIMIT %s "
    "FOR UPDATE SKIP LOCKED"
)
_PUBLISH_ERRORS = (redis.RedisError, DramatiqError, OSError)
_RETRY_MAX_S = 5.0


class OutboxRelay:
    """Daemon threads: the publisher, and a listener for ``NOTIFY`` when given a
    ``database_url`` to listen on; ``stop`` joins them."""

    def __init__(
        self,
        pool: ConnectionPool[Any],
        broker: QueueBroker,
        *,
        database_url: str | None,
        metrics: IngestionMetrics,
        interval_s: float = 1.0,
        batch_size: int = 500,
        connect_timeout_s: float = 5.0,
    ) -> None:
        self._pool = pool
        self._broker = broker
        self._namespace = broker.namespace
        self._database_url = database_url
        self._metrics = metrics
        self._interval_s = interval_s
        self._batch_size = batch_size
        self._connect_timeout_s = connect_timeout_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True, name="outbox-relay")]
        if database_url is not None:
            self._threads.append(
                threading.Thread(target=self._listen, daemon=True, name="outbox-listen")
            )

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout_s)

    def publish_due(self) -> int:
        """One pass: publish up to ``batch_size`` due jobs; returns how many were published.

        A broker error after some were published deletes those, commits, then raises.
        """
        error: Exception | None = None
        published: list[int] = []
        queues: set[str] = set()
        lags: list[float] = []
        with self._pool.connection() as conn, conn.transaction():
            rows = conn.execute(_CLAIM, (self._namespace, self._batch_size)).fetchall()
            for row_id, message_id, queue_name, actor_name, args, due, now, parent in rows:
                message: dramatiq.Message[Any] = dramatiq.Message(
                    queue_name=queue_name,
                    actor_name=actor_name,
                    args=tuple(args),
                    kwargs={},
                    options={"traceparent": parent} if parent else {},
                    message_id=str(message_id),
                )
                try:
                    self._broker.enqueue(message)
                except _PUBLISH_ERRORS as exc:
                    error = exc
                    break
                published.append(row_id)
                queues.add(queue_name)
                lags.append(_seconds_between(due, now))
            if published:
                conn.execute("DELETE FROM outbox WHERE id = ANY(%s)", (published,))
        self._broker.announce(queues)  # (after the commit: the jobs are out of the outbox)
        self._metrics.outbox_published.inc(len(published))
        for lag in lags:
            self._metrics.outbox_lag.observe(lag)
        if error is not None:
            raise error
        return len(published)

    def _run(self) -> None:
        failing_since: float | None = None
        delay = 0.0
        while not self._stop.is_set():
            self._wake.clear()
            try:
                count = self.publish_due()
            except (*_PUBLISH_ERRORS, psycopg.Error) as exc:
                if failing_since is None:
                    failing_since = time.monotonic()
                    _log.warning(
                        "outbox relay cannot publish (%s); jobs wait in Postgres, retrying",
                        "broker" if isinstance(exc, _PUBLISH_ERRORS) else "database",
                        extra={"error": f"{type(exc).__name__}: {exc}"},
                    )
                delay = min(_RETRY_MAX_S, max(0.1, delay * 2))
                self._stop.wait(delay)
                continue
            if failing_since is not None:
                _log.info(
                    "outbox relay publishing again",
                    extra={"after_s": round(time.monotonic() - failing_since, 1)},
                )
                failing_since, delay = None, 0.0
            if count < self._batch_size:
                self._wake.wait(self._interval_s)

    def _listen(self) -> None:
        """Wake the publisher on every commit that staged jobs; reconnect when dropped."""
        assert self._database_url is not None  # started only with one
        while not self._stop.is_set():
            try:
                with psycopg.connect(
                    self._database_url,
                    autocommit=True,
                    connect_timeout=max(1, round(self._connect_timeout_s)),
                ) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self._wake.set()  # anything committed before LISTEN took effect
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            self._wake.set()
            except psycopg.Error as exc:
                _log.debug("outbox listener reconnecting", extra={"error": str(exc)})
                self._stop.wait(self._interval_s)


def outbox_backlog(pool: ConnectionPool[Any], namespace: str) -> tuple[float, float]:
    """Jobs for ``namespace`` not yet published, and how long the oldest due one has
    waited (seconds)."""
    with pool.connection() as conn:
        row = conn.execute(
            "SELECT count(*), coalesce(extract(epoch FROM now() - min(available_at) "
            "FILTER (WHERE available_at <= now())), 0) FROM outbox WHERE namespace = %s",
            (namespace,),
        ).fetchone()
    assert row is not None  # an aggregate always returns a row
    return float(row[0]), max(0.0, float(row[1]))


def _seconds_between(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds())
