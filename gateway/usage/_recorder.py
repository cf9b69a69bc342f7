"""Usage leaves the request path: buffered in the process, written to Postgres in batches.

``record`` only appends to a buffer. A background task writes a batch when ``batch_size``
records wait or ``flush_interval_s`` passed; a failed write keeps the records and retries
with backoff (capped at ``retry_max_s``). ``close`` writes what is left, retrying until its
deadline. Only beyond ``max_buffer`` are the oldest records dropped, counted and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque

import psycopg
from prometheus_client import Counter, Gauge
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from configs import UsageSettings
from gateway.usage._record import UsageRecord

__all__ = ["UsageRecorder"]

_log = logging.getLogger(__name__)

_INSERT = (
    "INSERT INTO usage_events (event_id, request_id, key_id, model, deployment, endpoint, "
    "prompt_tokens, completion_tokens, cost_usd, latency_ms, status, streamed, created_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING"
)
WRITTEN = Counter("ragway_usage_records_written_total", "Usage records written to Postgres.")
DROPPED = Counter(
    "ragway_usage_records_dropped_total", "Usage records dropped because the buffer was full."
)
WRITE_ERRORS = Counter("ragway_usage_write_errors_total", "Failed usage batch writes (retried).")
BUFFERED = Gauge("ragway_usage_records_buffered", "Usage records waiting to be written.")


class UsageRecorder:
    def __init__(self, pool: AsyncConnectionPool, settings: UsageSettings) -> None:
        self._pool = pool
        self._settings = settings
        self._buffer: deque[UsageRecord] = deque()
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="usage-recorder")

    def record(self, record: UsageRecord) -> None:
        """Queue one record; never blocks and never raises."""
        if len(self._buffer) >= self._settings.max_buffer:
            self._buffer.popleft()
            DROPPED.inc()
            _log.error(
                "usage buffer full: oldest record dropped",
                extra={"request_id": record.request_id},
            )
        self._buffer.append(record)
        if len(self._buffer) >= self._settings.batch_size:
            self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._buffer)

    async def flush(self) -> None:
        """Write everything buffered now; raises when Postgres fails (records stay buffered)."""
        while self._buffer:
            await self._write_batch()

    async def close(self, *, timeout_s: float = 30.0) -> None:
        """Stop the background task and write what is left, retrying until ``timeout_s``."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        deadline = time.monotonic() + timeout_s
        delay = 0.1
        while self._buffer:
            try:
                await self.flush()
            except (psycopg.Error, PoolTimeout, OSError) as exc:
                if time.monotonic() + delay > deadline:
                    _log.error(
                        "usage records not written at shutdown",
                        extra={"count": len(self._buffer), "error": str(exc)},
                    )
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._settings.retry_max_s)

    async def _run(self) -> None:
        delay = 0.0
        while not self._closing:
            timeout = delay or self._settings.flush_interval_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()
            if self._closing:
                return
            try:
                await self.flush()
                delay = 0.0
            except (psycopg.Error, PoolTimeout, OSError) as exc:
                WRITE_ERRORS.inc()
                delay = min(max(delay * 2, 0.2), self._settings.retry_max_s)
                _log.warning(
                    "usage write failed; records kept and retried",
                    extra={"buffered": len(self._buffer), "retry_in_s": delay, "error": str(exc)},
                )

    async def _write_batch(self) -> None:
        size = min(len(self._buffer), self._settings.batch_size)
        batch = [self._buffer.popleft() for _ in range(size)]
        try:
            async with self._pool.connection(timeout=5.0) as conn, conn.cursor() as cursor:
                await cursor.executemany(_INSERT, [record.row() for record in batch])
        except BaseException:
            self._buffer.extendleft(reversed(batch))  # back in front, in order
            raise
        finally:
            BUFFERED.set(len(self._buffer))
        WRITTEN.inc(size)
