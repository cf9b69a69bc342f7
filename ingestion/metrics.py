"""The worker's Prometheus metrics, in a registry of its own, served over HTTP by the worker.

Counters and histograms are updated by the pipeline; files by status, queue depth and dead
letters are read from Postgres and the broker (Redis or RabbitMQ) when Prometheus scrapes, so
they are right across workers, and whether those reads answered is ``ragway_postgres_up`` /
``ragway_redis_up`` (``ragway_rabbitmq_up``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Literal

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    enable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ingestion import tracing

__all__ = ["IngestionMetrics", "trace_exemplar", "use_created_series"]

_log = logging.getLogger(__name__)

_LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
_STAGE_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)


def trace_exemplar() -> dict[str, str] | None:
    """The exemplar of a latency observed inside a traced span (``{"trace_id": ...}``), so a
    slow bucket links to its trace; None (nothing more to do) when tracing is off."""
    ids = tracing.current_ids()
    return None if ids is None else {"trace_id": ids[0]}


def use_created_series(enabled: bool) -> None:
    """Whether this process's counters and histograms also export ``<name>_created``
    (``metrics.created_series``); prometheus_client's switch is process-wide."""
    if enabled:
        enable_created_metrics()  # type: ignore[no-untyped-call]
    else:
        disable_created_metrics()  # type: ignore[no-untyped-call]


class _ScrapeCollector(Collector):
    """A gauge family computed by ``read`` at scrape time; a failing read yields no samples,
    and ``up`` (a gauge family named after the store ``read`` asks) says whether it answered."""

    def __init__(
        self,
        name: str,
        documentation: str,
        label: str,
        read: Callable[[], Mapping[str, float]],
        *,
        up: tuple[str, str],
    ) -> None:
        self._name = name
        self._documentation = documentation
        self._label = label
        self._read = read
        self._up = up

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(self._name, self._documentation, labels=[self._label])
        answered = 1.0
        try:
            values = self._read()
        except Exception:  # noqa: BLE001 - an observer never breaks the scrape; the error is logged
            _log.warning("metric %s could not be read", self._name, exc_info=True)
            values, answered = {}, 0.0
        for label, value in sorted(values.items()):
            family.add_metric([label], value)
        yield family
        yield GaugeMetricFamily(*self._up, value=answered)


class IngestionMetrics:
    """Every ingestion metric of one process, registered in ``registry``."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.stage_seconds = Histogram(
            "ragway_ingestion_stage_seconds",
            "Time one file spends in a pipeline stage",
            ["stage"],
            buckets=_STAGE_BUCKETS,
            registry=self.registry,
        )
        self.chunks_embedded = Counter(
            "ragway_ingestion_chunks_embedded",
            "Chunks embedded by this worker",
            registry=self.registry,
        )
        self.files_processed = Counter(
            "ragway_ingestion_files_processed",
            "Files this worker finished, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.failures = Counter(
            "ragway_ingestion_failures",
            "Files that failed for good, by reason (last_error.code)",
            ["reason"],
            registry=self.registry,
        )
        self.outbox_published = Counter(
            "ragway_outbox_published",
            "Jobs this process's outbox relay published to the broker",
            registry=self.registry,
        )
        self.outbox_lag = Histogram(
            "ragway_outbox_relay_lag_seconds",
            "From a job's commit (or its due time) to its publication by the relay",
            buckets=_LAG_BUCKETS,
            registry=self.registry,
        )
        self.retries = Counter(
            "ragway_ingestion_retries",
            "Attempts that raised and will be retried, by error type",
            ["reason"],
            registry=self.registry,
        )

    def watch_files(self, read: Callable[[], Mapping[str, float]]) -> None:
        """``ragway_ingestion_files{status}`` (and ``ragway_postgres_up``) from ``read()`` at
        every scrape."""
        self.registry.register(
            _ScrapeCollector(
                "ragway_ingestion_files",
                "Files in vector stores, by status",
                "status",
                read,
                up=("ragway_postgres_up", "1 if Postgres answered this scrape's query, else 0"),
            )
        )

    def watch_queues(
        self,
        read: Callable[[], Mapping[str, tuple[float, float]]],
        *,
        broker: Literal["redis", "rabbitmq"] = "redis",
    ) -> None:
        """``ragway_ingestion_queue_depth{queue}`` and
        ``ragway_ingestion_queue_dead_letters{queue}`` from ``read()`` (queue -> (depth, dead
        letters)) at every scrape, and whether the broker answered: ``ragway_redis_up`` or
        ``ragway_rabbitmq_up``."""
        self.registry.register(_QueueCollector(read, broker))

    def watch_outbox(self, read: Callable[[], tuple[float, float]]) -> None:
        """``ragway_outbox_depth`` and ``ragway_outbox_oldest_seconds`` from ``read()``
        (jobs not yet published, and the age of the oldest due one) at every scrape."""
        self.registry.register(_OutboxCollector(read))


class _QueueCollector(Collector):
    def __init__(
        self,
        read: Callable[[], Mapping[str, tuple[float, float]]],
        broker: Literal["redis", "rabbitmq"],
    ) -> None:
        self._read = read
        self._up = (
            ("ragway_redis_up", "1 if Redis answered this scrape's query, else 0")
            if broker == "redis"
            else ("ragway_rabbitmq_up", "1 if RabbitMQ answered this scrape's queries, else 0")
        )

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "ragway_ingestion_queue_depth", "Messages waiting in a queue", labels=["queue"]
        )
        dead = GaugeMetricFamily(
            "ragway_ingestion_queue_dead_letters",
            "Messages of a queue that failed for good (its dead-letter queue, <queue>.XQ)",
            labels=["queue"],
        )
        answered = 1.0
        try:
            values = self._read()
        except Exception:  # noqa: BLE001 - an observer never breaks the scrape; the error is logged
            _log.warning("the queue metrics could not be read", exc_info=True)
            values, answered = {}, 0.0
        for queue, (waiting, failed) in sorted(values.items()):
            depth.add_metric([queue], waiting)
            dead.add_metric([queue], failed)
        yield depth
        yield dead
        yield GaugeMetricFamily(*self._up, value=answered)


class _OutboxCollector(Collector):
    def __init__(self, read: Callable[[], tuple[float, float]]) -> None:
        self._read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            depth, oldest = self._read()
        except Exception:  # noqa: BLE001 - an observer never breaks the scrape; the error is logged
            _log.warning("the outbox metrics could not be read", exc_info=True)
            return
        yield GaugeMetricFamily(
            "ragway_outbox_depth", "Jobs in the outbox not yet published", value=depth
        )
        yield GaugeMetricFamily(
            "ragway_outbox_oldest_seconds",
            "Age of the oldest due job in the outbox (0 when none): the relay's lag now",
            value=oldest,
        )
