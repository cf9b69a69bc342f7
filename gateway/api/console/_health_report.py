"""What the health page shows: model aliases with their deployments and recent traffic,
and the readiness of Postgres, Redis, the workers and the queue.

Every probe has its own deadline and turns a failure into "unavailable" for its part of
the page: the page is what an operator opens when something is down, so it must answer
when Postgres or Redis do not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

import psycopg
import psycopg_pool
import redis
from dramatiq.errors import ConnectionClosed

from configs import Settings
from gateway.api.console._metrics_window import Recent, Traffic
from gateway.api.console._services import ConsoleServices
from gateway.api.health import CheckResult

__all__ = ["DeploymentView", "HealthReport", "ModelView", "Readiness", "Throughput", "models"]

T = TypeVar("T")

_BREAKER = {0: "closed", 1: "open", 2: "half-open"}
_UNREACHABLE = (
    TimeoutError,
    OSError,
    redis.RedisError,
    ConnectionClosed,  # RabbitMQ unreachable
    psycopg.Error,
    psycopg_pool.PoolTimeout,
)
_THROUGHPUT_MINUTES = 15
_THROUGHPUT = """
SELECT count(*) FILTER (WHERE status = 'completed' AND completed_at >= now() - %(span)s),
       coalesce(sum(chunks_done) FILTER (
           WHERE status = 'completed' AND completed_at >= now() - %(span)s), 0),
       count(*) FILTER (WHERE status = 'in_progress'),
       count(*) FILTER (WHERE status = 'failed')
  FROM vector_store_files
 WHERE status IN ('completed', 'in_progress', 'failed')
"""


@dataclass(frozen=True, slots=True)
class DeploymentView:
    """A deployment as the page shows it: never its key, nor its URL beyond the host."""

    name: str
    provider: str
    model: str
    host: str
    weight: float
    breaker: str  # closed, open, half-open
    upstream_errors: float


@dataclass(frozen=True, slots=True)
class ModelView:
    alias: str
    type: str
    deployments: list[DeploymentView]
    traffic: Traffic
    per_minute: float | None


def _host(base_url: str) -> str:
    """Only the host (and port) of a URL: no user, password, path or query."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    return f"{host}:{parts.port}" if parts.port else host


def models(settings: Settings, recent: Recent) -> list[ModelView]:
    """Every configured alias with its deployments, breaker states and recent traffic."""
    views = []
    for alias, config in settings.providers.models.items():
        deployments = [
            DeploymentView(
                name=d.name,
                provider=d.provider,
                model=d.model,
                host=_host(d.base_url),
                weight=d.weight,
                breaker=_BREAKER.get(recent.breakers.get(d.name, 0), "unknown"),
                upstream_errors=recent.upstream_errors.get(d.name, 0.0),
            )
            for d in config.deployments
        ]
        traffic = recent.traffic(alias)
        views.append(
            ModelView(alias, config.type, deployments, traffic, recent.per_minute(traffic.requests))
        )
    return views


@dataclass(frozen=True, slots=True)
class Throughput:
    """Ingestion over the last ``minutes``, and the files in progress or failed now."""

    minutes: int
    files: int
    chunks: int
    in_progress: int
    failed: int

    @property
    def files_per_minute(self) -> float:
        return self.files / self.minutes

    @property
    def chunks_per_minute(self) -> float:
        return self.chunks / self.minutes


@dataclass(frozen=True, slots=True)
class Readiness:
    """The dependencies; None for a part that did not answer in time (shown unavailable)."""

    checks: list[CheckResult]
    workers: int | None
    queue_depth: int | None
    throughput: Throughput | None
    errors: dict[str, str]  # part -> why it is unavailable
    dead_letters: int | None = None  # the ingestion queue's, with queue_depth


class HealthReport:
    """Probes the console's services, each within ``timeout_s``."""

    def __init__(self, services: ConsoleServices, *, timeout_s: float = 2.0) -> None:
        self._services = services
        self._timeout_s = timeout_s
        self._abandoned: set[asyncio.Future[Any]] = set()

    async def readiness(self) -> Readiness:
        errors: dict[str, str] = {}
        queue = self._services.queue
        checks, workers, numbers, throughput = await asyncio.gather(
            self._services.readiness.probe(),
            self._guarded("workers", asyncio.to_thread(queue.workers), errors),
            self._guarded(
                "queue", asyncio.to_thread(lambda: (queue.depth(), queue.dead_letters())), errors
            ),
            self._guarded("throughput", self._throughput(), errors),
        )
        depth, dead = (None, None) if numbers is None else numbers
        return Readiness(checks, workers, depth, throughput, errors, dead)

    async def _guarded(self, part: str, work: Awaitable[T], errors: dict[str, str]) -> T | None:
        """``work``'s result, or None (and why in ``errors``) past the deadline or on a
        connection error. Work still running at the deadline is cancelled and left to end in
        the background, as the readiness probe does: cancelling a query on a frozen Postgres
        can itself wait on the server, and the page must not wait with it."""
        task = asyncio.ensure_future(work)
        await asyncio.wait((task,), timeout=self._timeout_s)
        if not task.done():
            task.cancel()
            self._abandoned.add(task)
            task.add_done_callback(self._forget)
            errors[part] = f"no answer within {self._timeout_s:g}s"
            return None
        try:
            return task.result()
        except _UNREACHABLE as exc:
            errors[part] = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
            return None

    def _forget(self, task: asyncio.Future[Any]) -> None:
        self._abandoned.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: its failure is already the page's answer

    async def _throughput(self) -> Throughput:
        span = timedelta(minutes=_THROUGHPUT_MINUTES)
        async with self._services.pool.connection(timeout=self._timeout_s) as conn:
            cursor = await conn.execute(_THROUGHPUT, {"span": span})
            row = await cursor.fetchone()
        files, chunks, in_progress, failed = row if row else (0, 0, 0, 0)
        return Throughput(_THROUGHPUT_MINUTES, files, int(chunks), in_progress, failed)
