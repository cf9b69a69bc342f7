"""Upkeep of the delivery log, run by every worker each ``upkeep_interval_s`` (a minute).

Two chores, each in small transactions of at most :data:`BATCH_ROWS` rows claimed with
``FOR UPDATE SKIP LOCKED`` (workers share them without waiting on each other, or on an
attempt being recorded):

- **Lost jobs.** An open (pending or retrying) delivery more than ``lost_job_after_s`` past
  its next attempt, with no attempt's lease held, lost its job (a message dropped after
  its retries, a Redis flushed). Once its retry window is over too, it is marked ``failed``
  (``ragway_webhook_deliveries_failed{reason="job_lost"}``) -- it never stays open for
  good; before that its job is staged again, so it gets the attempts it has left.
- **Retention.** Delivered and failed deliveries are purged ``retention_days`` after they
  ended; events, once as old and left without deliveries (an open delivery keeps its event).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from configs import WebhookSettings
from ingestion.queue import Job, stage_sync
from ingestion.webhooks._events import DELIVER_ACTOR
from ingestion.webhooks._metrics import WebhookMetrics

__all__ = ["BATCH_ROWS", "DeliveryUpkeep"]

_log = logging.getLogger(__name__)

BATCH_ROWS = 300  # rows one statement changes: short transactions, short row locks
_MAX_BATCHES = 20  # per chore and pass; the rest waits for the next pass
_LOST_ERROR = "the retry window ended with no attempt under way (its job was lost)"
_LOST = """
SELECT id FROM webhook_deliveries
 WHERE status IN ('pending', 'retrying')
   AND next_attempt_at < now() - make_interval(secs => %(lost_s)s::float8)
   AND (locked_until IS NULL OR locked_until < now())
   {which}
 ORDER BY next_attempt_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
"""
_PAST_WINDOW = "AND created_at < now() - make_interval(secs => %(window_s)s::float8)"
_FAIL_LOST = f"""
UPDATE webhook_deliveries
   SET status = 'failed', last_error = %(error)s, next_attempt_at = NULL, locked_until = NULL,
       updated_at = now()
 WHERE id IN ({_LOST.format(which=_PAST_WINDOW)})
"""  # noqa: S608 - fixed text
_RESTAGE_LOST = f"""
UPDATE webhook_deliveries SET next_attempt_at = now(), updated_at = now()
 WHERE id IN ({_LOST.format(which="")})
RETURNING id
"""  # noqa: S608 - fixed text
_PURGE_DELIVERIES = """
DELETE FROM webhook_deliveries WHERE id IN (
    SELECT id FROM webhook_deliveries
     WHERE status IN ('delivered', 'failed')
       AND updated_at < now() - make_interval(days => %(days)s)
     ORDER BY updated_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
)
"""
# Deliveries are inserted with their event, never later: an event without any now gets none.
_PURGE_EVENTS = """
DELETE FROM webhook_events WHERE id IN (
    SELECT ev.id FROM webhook_events AS ev
     WHERE ev.created_at < now() - make_interval(days => %(days)s)
       AND NOT EXISTS (SELECT 1 FROM webhook_deliveries AS d WHERE d.event_id = ev.id)
     ORDER BY ev.created_at LIMIT %(limit)s FOR UPDATE OF ev SKIP LOCKED
)
"""


class DeliveryUpkeep:
    """The chores above; ``run_once`` is one pass, ``start`` runs passes on a daemon thread."""

    def __init__(
        self,
        pool: ConnectionPool[Any],
        *,
        settings: WebhookSettings,
        namespace: str,
        metrics: WebhookMetrics,
    ) -> None:
        self._pool = pool
        self._settings = settings
        self._namespace = namespace
        self._metrics = metrics
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="webhook-upkeep")
        self._failing = False

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)

    def run_once(self) -> dict[str, int]:
        """One pass; returns the rows each chore changed (failed, restaged, deliveries,
        events)."""
        settings = self._settings
        lost = {"lost_s": settings.lost_job_after_s, "limit": BATCH_ROWS}
        window = {**lost, "window_s": settings.max_age_s + settings.lost_job_after_s}
        kept = {"days": settings.retention_days, "limit": BATCH_ROWS}
        done = {
            "failed": self._batches(_FAIL_LOST, {**window, "error": _LOST_ERROR}),
            "restaged": self._batches(_RESTAGE_LOST, lost, stage=True),
            "deliveries": self._batches(_PURGE_DELIVERIES, kept),
            "events": self._batches(_PURGE_EVENTS, kept),
        }
        self._metrics.failed.labels("job_lost").inc(done["failed"])
        self._metrics.restaged.inc(done["restaged"])
        self._metrics.purged.labels("deliveries").inc(done["deliveries"])
        self._metrics.purged.labels("events").inc(done["events"])
        if done["failed"]:
            _log.warning("webhook deliveries failed: their jobs were lost", extra=done)
        return done

    def _batches(self, statement: str, params: dict[str, Any], *, stage: bool = False) -> int:
        """``statement`` in transactions of its own until it changes fewer than BATCH_ROWS;
        with ``stage``, a delivery job for each id it returns, in its transaction."""
        total = 0
        for _ in range(_MAX_BATCHES):
            with self._pool.connection() as conn, conn.transaction():
                cursor = conn.execute(statement, params)
                count = cursor.rowcount
                if stage:
                    queue = self._settings.queue
                    jobs = [Job(queue, DELIVER_ACTOR, (row[0],)) for row in cursor]
                    stage_sync(conn, self._namespace, jobs)
            total += count
            if count < BATCH_ROWS or self._stop.is_set():
                break
        return total

    def _run(self) -> None:
        while not self._stop.wait(self._settings.upkeep_interval_s):
            try:
                self.run_once()
            except (psycopg.Error, PoolTimeout) as exc:
                if not self._failing:
                    _log.warning(
                        "webhook upkeep cannot reach Postgres; retrying each pass",
                        extra={"error": f"{type(exc).__name__}: {exc}"},
                    )
                self._failing = True
                continue
            if self._failing:
                _log.info("webhook upkeep running again")
            self._failing = False
