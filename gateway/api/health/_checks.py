"""Readiness checks: each asks one dependency to answer within a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

__all__ = ["Check", "CheckResult", "PostgresCheck", "ReadinessService", "RedisCheck"]


class Check(Protocol):
    """One dependency of the gateway; ``required``: without it the gateway cannot serve."""

    name: str
    required: bool

    async def __call__(self) -> None:
        """Return when the dependency answers; raise when it does not."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    latency_ms: float
    error: str | None = None
    required: bool = True


class PostgresCheck:
    """Postgres answers ``SELECT 1`` on a pooled connection."""

    name = "postgres"
    required = True

    def __init__(self, pool: AsyncConnectionPool, *, timeout_s: float) -> None:
        self._pool = pool
        self._timeout_s = timeout_s

    async def __call__(self) -> None:
        async with self._pool.connection(timeout=self._timeout_s) as conn:
            await conn.execute("SELECT 1")


class RedisCheck:
    """Redis answers ``PING``.

    Not ``required`` when quotas fail open: the gateway then serves without Redis (per-process
    limits, short key-cache TTLs), and a readiness probe that failed would take every gateway
    out of its load balancer at once -- the outage fail-open exists to ride through.
    """

    name = "redis"

    def __init__(self, client: Redis, *, required: bool = True) -> None:
        self._client = client
        self.required = required

    async def __call__(self) -> None:
        await self._client.ping()


class ReadinessService:
    """Runs every check concurrently and answers within ``timeout_s``, whatever they do.

    A check still running at the deadline is cancelled and left to end in the background:
    cancelling a query on a frozen Postgres can itself wait on the server, and the probe
    must not wait with it (a probe that hangs is read as a dead process).
    """

    def __init__(self, checks: Sequence[Check], *, timeout_s: float = 2.0) -> None:
        self._checks = tuple(checks)
        self._timeout_s = timeout_s
        self._abandoned: set[asyncio.Task[None]] = set()

    async def probe(self) -> list[CheckResult]:
        return list(await asyncio.gather(*(self._run(check) for check in self._checks)))

    async def _run(self, check: Check) -> CheckResult:
        started = time.perf_counter()
        task = asyncio.ensure_future(check())
        try:
            await asyncio.wait((task,), timeout=self._timeout_s)
        finally:
            if not task.done():
                task.cancel()
                self._abandoned.add(task)  # a reference until it ends, then forgotten
                task.add_done_callback(self._forget)
        error: str | None
        if not task.done() or task.cancelled():
            error = f"no answer within {self._timeout_s:g}s"
        elif (exc := task.exception()) is not None:
            error = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
        else:
            error = None
        latency = round((time.perf_counter() - started) * 1000, 2)
        return CheckResult(check.name, error is None, latency, error, check.required)

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._abandoned.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: its failure is already the probe's answer
