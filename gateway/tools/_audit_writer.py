"""Audit events leave the request path: queued in the process, written in batches.

``record`` appends and returns. A background task writes a batch when ``batch_size`` events
wait or ``flush_interval_s`` passed. A failed write puts the batch back in front and retries
with doubling pauses (up to ``retry_max_s``); inserts are idempotent (``ON CONFLICT (id) DO
NOTHING``), so a batch whose commit was lost in transit is not written twice. ``close``
writes what is left, retrying until its deadline. Only beyond ``max_buffer`` is the oldest
event dropped, counted in ``ragway_audit_events_dropped_total`` and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from configs import AuditSettings
from gateway.tools import _metrics
from gateway.tools._audit import AuditEvent

__all__ = ["AuditWriter"]

_log = logging.getLogger(__name__)

_INSERT = (
    "INSERT INTO audit_events (id, created_at, kind, key_id, request_id, model, stage, subject, "
    "decision, reason, arguments_sha256, details) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING"
)
_RETRYABLE = (psycopg.Error, PoolTimeout, OSError)


def _row(event: AuditEvent) -> tuple[Any, ...]:
    return (
        event.id,
        event.created_at,
        event.kind,
        event.key_id,
        event.request_id,
        event.model,
        event.stage,
        event.subject,
        event.decision,
        event.reason,
        event.arguments_sha256,
        Jsonb(event.details),
    )


class AuditWriter:
    """The ``AuditSink`` of a gateway process: ``start`` in the lifespan, ``close`` at its end."""

    def __init__(self, pool: AsyncConnectionPool, settings: AuditSettings) -> None:
        self._pool = pool
        self._settings = settings
        self._queue: deque[AuditEvent] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._in_flight = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="audit-writer")

    def record(self, event: AuditEvent) -> None:
        """Queue ``event``; never blocks, never raises."""
        if len(self._queue) >= self._settings.max_buffer:
            self._queue.popleft()
            _metrics.AUDIT_DROPPED.inc()
            _log.error("audit buffer full: the oldest event was dropped")
        self._queue.append(event)
        _metrics.AUDIT_BUFFERED.set(len(self._queue))
        if len(self._queue) >= self._settings.batch_size:
            self._wake.set()

    @property
    def pending(self) -> int:
        """Events not yet written: queued plus the batch being written."""
        return len(self._queue) + self._in_flight

    async def flush(self) -> None:
        """Write everything queued now; on failure the events stay queued and it raises."""
        while self._queue:
            await self._write_one_batch()

    async def close(self) -> None:
        """Stop the loop, then write the rest, retrying until ``shutdown_timeout_s``."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        deadline = time.monotonic() + self._settings.shutdown_timeout_s
        pause = 0.1
        while self._queue:
            try:
                await self.flush()
            except _RETRYABLE as exc:
                if time.monotonic() + pause > deadline:
                    _log.error(
                        "audit events not written at shutdown",
                        extra={"count": len(self._queue), "error": str(exc)},
                    )
                    return
                await asyncio.sleep(pause)
                pause = min(pause * 2, self._settings.retry_max_s)

    async def _loop(self) -> None:
        pause = 0.0
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), pause or self._settings.flush_interval_s)
            self._wake.clear()
            if self._stopping:
                return
            try:
                await self.flush()
                pause = 0.0
            except _RETRYABLE as exc:
                _metrics.AUDIT_WRITE_ERRORS.inc()
                pause = min(max(pause * 2, 0.2), self._settings.retry_max_s)
                _log.warning(
                    "audit write failed; events kept and retried",
                    extra={"queued": len(self._queue), "retry_in_s": pause, "error": str(exc)},
                )

    async def _write_one_batch(self) -> None:
        batch = [
            self._queue.popleft() for _ in range(min(len(self._queue), self._settings.batch_size))
        ]
        self._in_flight = len(batch)
        try:
            async with self._pool.connection(timeout=5.0) as conn, conn.cursor() as cursor:
                await cursor.executemany(_INSERT, [_row(event) for event in batch])
        except BaseException:
            self._queue.extendleft(reversed(batch))
            raise
        finally:
            self._in_flight = 0
            _metrics.AUDIT_BUFFERED.set(len(self._queue))
        _metrics.AUDIT_WRITTEN.inc(len(batch))
