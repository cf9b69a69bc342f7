"""The delivery actor: one attempt per message, recorded with the next one in Postgres.

``deliver_webhook(delivery_id)`` claims the delivery if it is pending and due: a short
transaction sets a lease (``locked_until``: the attempt's time limit and a margin), so no
row lock or transaction is held while the receiver is slow. It POSTs the event signed with
a fresh ``webhook-timestamp`` and the delivery's id as ``webhook-id`` (the same on every
attempt), then in one transaction records the answer and, after a failure, stages the next
attempt in the outbox with the schedule's delay -- or marks it ``failed`` once the delivery
is ``max_age_s`` old (counted in ``ragway_webhook_deliveries_failed``). A duplicate
message that finds the lease held stages one more look for when the lease ends, so a worker
killed mid-attempt cannot strand the delivery; a Postgres error is retried by Dramatiq, the
row unchanged until an attempt is recorded. A job lost all the same is found by
:class:`~ingestion.webhooks.DeliveryUpkeep`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import dramatiq
from dramatiq import Actor, Broker
from psycopg import Connection
from psycopg_pool import ConnectionPool

from configs import WebhookSettings
from ingestion.queue import Job, stage_sync
from ingestion.webhooks._events import DELIVER_ACTOR, event_body
from ingestion.webhooks._metrics import WebhookMetrics
from ingestion.webhooks._schedule import RetrySchedule
from ingestion.webhooks._sender import Attempt, WebhookSender
from ingestion.webhooks._signing import signed_headers

__all__ = ["DeliveryWorker", "declare_webhook_actors"]

_log = logging.getLogger(__name__)

_LEASE_MARGIN_S = 10.0
_LOAD = """
SELECT d.status IN ('pending', 'retrying') AND d.next_attempt_at <= now() + interval '1 second',
       greatest(extract(epoch FROM d.locked_until - now()), 0)::float8,
       d.attempts, extract(epoch FROM now() - d.created_at)::float8,
       e.url, e.secret, CASE WHEN e.previous_secret_until > now() THEN e.previous_secret END,
       e.enabled, ev.id, ev.type, ev.created_at, ev.data
  FROM webhook_deliveries AS d
  JOIN webhook_endpoints AS e ON e.id = d.endpoint_id
  JOIN webhook_events AS ev ON ev.id = d.event_id
 WHERE d.id = %s
   FOR UPDATE OF d
"""
_LEASE = """
UPDATE webhook_deliveries SET locked_until = now() + make_interval(secs => %s::float8)
 WHERE id = %s
"""
_DELIVERED = """
UPDATE webhook_deliveries
   SET status = 'delivered', attempts = attempts + 1, last_status_code = %(code)s,
       last_error = NULL, last_attempt_at = now(), next_attempt_at = NULL,
       delivered_at = now(), locked_until = NULL, updated_at = now()
 WHERE id = %(id)s
"""
_RETRYING = """
UPDATE webhook_deliveries
   SET status = 'retrying', attempts = attempts + 1, last_status_code = %(code)s,
       last_error = %(error)s, last_attempt_at = now(),
       next_attempt_at = now() + make_interval(secs => %(wait)s::float8),
       locked_until = NULL, updated_at = now()
 WHERE id = %(id)s
RETURNING id
"""
_FAILED = """
UPDATE webhook_deliveries
   SET status = 'failed', attempts = attempts + %(tried)s, last_status_code = %(code)s,
       last_error = %(error)s, last_attempt_at = CASE WHEN %(tried)s > 0 THEN now()
                                                      ELSE last_attempt_at END,
       next_attempt_at = NULL, locked_until = NULL, updated_at = now()
 WHERE id = %(id)s
"""


@dataclass(frozen=True, slots=True)
class _Claim:
    """A delivery this worker attempts now."""

    attempts: int  # before this one
    age_s: float
    url: str
    keys: tuple[str, ...]
    body: bytes


class DeliveryWorker:
    """Makes one attempt at a delivery and records it (see the module docstring)."""

    def __init__(
        self,
        pool: ConnectionPool[Any],
        *,
        sender: WebhookSender,
        schedule: RetrySchedule,
        settings: WebhookSettings,
        namespace: str,
        metrics: WebhookMetrics,
    ) -> None:
        self._pool = pool
        self._metrics = metrics
        self._sender = sender
        self._schedule = schedule
        self._lease_s = settings.timeout_s + _LEASE_MARGIN_S
        self._namespace = namespace
        self._queue = settings.queue

    def deliver(self, delivery_id: str) -> str:
        """Returns what happened: delivered, retrying, failed, or skipped."""
        with self._pool.connection() as conn, conn.transaction():
            claim = self._claim(conn, delivery_id)
        if claim is None:
            return "skipped"
        started = time.monotonic()
        headers = signed_headers(claim.keys, delivery_id, int(time.time()), claim.body)
        attempt = asyncio.run(self._sender.send(claim.url, claim.body, headers))
        age_s = claim.age_s + time.monotonic() - started
        with self._pool.connection() as conn, conn.transaction():
            return self._record(conn, delivery_id, claim.attempts + 1, age_s, attempt)

    def _claim(self, conn: Connection[Any], delivery_id: str) -> _Claim | None:
        row = conn.execute(_LOAD, (delivery_id,)).fetchone()
        if row is None:
            return None  # its endpoint was deleted
        due, leased_s, attempts, age_s, url, secret, previous, enabled, *event = row
        if not due:
            return None  # done, or a duplicate of an earlier attempt's message
        if leased_s > 0:  # being attempted; look again when the lease ends
            self._stage(conn, delivery_id, leased_s)
            return None
        if not enabled:
            disabled = Attempt(None, "the endpoint is disabled")
            self._fail(conn, delivery_id, disabled, tried=0, reason="endpoint_disabled")
            return None
        conn.execute(_LEASE, (self._lease_s, delivery_id))
        keys = (secret,) if previous is None else (secret, previous)
        return _Claim(attempts, age_s, url, keys, event_body(*event))

    def _record(
        self, conn: Connection[Any], delivery_id: str, attempts: int, age_s: float, attempt: Attempt
    ) -> str:
        if attempt.delivered:
            params = {"id": delivery_id, "code": attempt.status_code}
            self._metrics.delivered.inc(conn.execute(_DELIVERED, params).rowcount)
            return "delivered"
        wait = self._schedule.next_wait(attempts, age_s)
        if wait is None:
            self._fail(conn, delivery_id, attempt, tried=1, reason="retries_exhausted")
            return "failed"
        params = {"id": delivery_id, "code": attempt.status_code, "error": attempt.error}
        if conn.execute(_RETRYING, {**params, "wait": wait}).fetchone() is not None:
            self._stage(conn, delivery_id, wait)  # not when its endpoint was deleted meanwhile
        return "retrying"

    def _stage(self, conn: Connection[Any], delivery_id: str, delay_s: float) -> None:
        job = Job(self._queue, DELIVER_ACTOR, (delivery_id,), delay_s=delay_s)
        stage_sync(conn, self._namespace, [job])

    def _fail(
        self,
        conn: Connection[Any],
        delivery_id: str,
        attempt: Attempt,
        *,
        tried: int,
        reason: str,
    ) -> None:
        params = {"id": delivery_id, "tried": tried, "code": attempt.status_code}
        failed = conn.execute(_FAILED, {**params, "error": attempt.error}).rowcount
        self._metrics.failed.labels(reason).inc(failed)  # 0: its endpoint was deleted meanwhile
        _log.warning(
            "webhook delivery failed",
            extra={"delivery_id": delivery_id, "reason": reason, "error": attempt.error},
        )


def declare_webhook_actors(
    broker: Broker, *, worker: DeliveryWorker, settings: WebhookSettings
) -> Actor[[str], None]:
    """Declare ``deliver_webhook`` on ``broker``; once per process."""

    def deliver_webhook(delivery_id: str) -> None:
        worker.deliver(delivery_id)

    return dramatiq.actor(
        broker=broker,
        actor_name=DELIVER_ACTOR,
        queue_name=settings.queue,
        max_retries=20,  # Postgres errors only: a failed attempt is recorded, not raised
        min_backoff=1000,
        max_backoff=300_000,
        time_limit=int((settings.timeout_s + _LEASE_MARGIN_S) * 1000),
    )(deliver_webhook)
