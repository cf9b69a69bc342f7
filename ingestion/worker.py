"""The worker process: a Dramatiq worker consuming ragway's queues until told to stop."""

from __future__ import annotations

import asyncio
import errno
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Protocol
from wsgiref.simple_server import WSGIServer

import dramatiq
from pgvector.psycopg import register_vector
from prometheus_client import start_http_server
from psycopg import Connection
from psycopg_pool import ConnectionPool

from configs import Settings
from inference.embedders import Embedder, build_embedder
from ingestion import tracing
from ingestion.db import connect_kwargs, migrate_when_ready
from ingestion.embedding import LazyEmbedder
from ingestion.metrics import IngestionMetrics, use_created_series
from ingestion.pipeline import FileIngestor, JobStore, build_file_ingestor
from ingestion.queue import (
    DeadWorkerSweeper,
    OutboxRelay,
    QueueBroker,
    RedisQueueBroker,
    build_queue_broker,
    declare_actors,
    declare_ingestion_actors,
    outbox_backlog,
)
from ingestion.redis_clients import RedisConnector
from ingestion.webhooks import (
    DeliveryUpkeep,
    DeliveryWorker,
    RetrySchedule,
    WebhookEvents,
    WebhookMetrics,
    WebhookSender,
    declare_webhook_actors,
)

__all__ = ["MetricsPortInUseError", "WorkerPlugin", "run_worker"]

_log = logging.getLogger(__name__)


class WorkerPlugin(Protocol):
    """Work of a higher layer run by this worker (the gateway's batches): its actors are
    declared on the worker's broker, and its queues consumed, only when it is given."""

    queues: tuple[str, ...]

    def declare(self, broker: dramatiq.Broker) -> None: ...

    def close(self) -> None: ...


class MetricsPortInUseError(RuntimeError):
    """``ingestion.metrics_port`` is taken (often: a worker of a previous run still exits)."""


def run_worker(
    settings: Settings,
    *,
    database_url: str,
    redis_url: str | None,
    stop: threading.Event,
    embedder_factory: Callable[[], Embedder] | None = None,
    plugins: Sequence[WorkerPlugin] = (),
) -> None:
    """Migrate (if configured), consume until ``stop`` is set, then shut down gracefully.

    Messages being processed when ``stop`` is set finish (up to the shutdown timeout);
    unacknowledged ones go back to the queue for the next worker. The embedder is built
    on the first file to ingest, so a worker that only answers pings never loads a model.
    ``redis_url`` is not used when ``redis.sentinel`` names the master; the broker is
    RabbitMQ when ``queue.broker`` says so (``RABBITMQ_URL``).
    """
    metrics = IngestionMetrics()
    try:  # first: a port in use stops the worker before it opens or migrates anything
        metrics_server = _serve_metrics(settings, metrics)
    except MetricsPortInUseError as exc:
        raise SystemExit(f"ragway worker: {exc}") from None
    tracing.setup(settings.tracing, process="worker")  # before anything that makes spans
    if settings.database.migrate_on_start:
        asyncio.run(
            migrate_when_ready(
                database_url,
                wait_s=settings.database.migrate_wait_s,
                connect_timeout_s=settings.database.connect_timeout_s,
            )
        )
    if settings.ingestion.queue not in settings.worker.queues:
        _log.warning(
            "ingestion.queue is not in worker.queues: this worker ingests nothing",
            extra={"queue": settings.ingestion.queue},
        )
    connector = RedisConnector.from_settings(settings.redis, url=redis_url)
    store = connector.client()
    broker = build_queue_broker(settings, redis=connector)
    pool = _open_pool(database_url, settings)
    jobs = JobStore(pool, events=WebhookEvents.from_settings(settings))
    declare_actors(broker, store=store, key_prefix=settings.redis.key_prefix)
    ingestor = build_file_ingestor(
        settings,
        pool=pool,
        embedder=LazyEmbedder(
            embedder_factory or (lambda: build_embedder(settings.inference.embedder))
        ),
        metrics=metrics,
    )
    if settings.ingestion.queue in settings.worker.queues:
        threading.Thread(
            target=_prepare, args=(ingestor,), daemon=True, name="parser-prepare"
        ).start()
    declare_ingestion_actors(
        broker,
        ingestor=ingestor,
        failures=jobs,
        metrics=metrics,
        settings=settings.ingestion,
    )
    webhook_metrics = WebhookMetrics(metrics.registry)
    declare_webhook_actors(
        broker,
        worker=DeliveryWorker(
            pool,
            sender=WebhookSender(settings.webhooks),
            schedule=RetrySchedule.from_settings(settings.webhooks),
            settings=settings.webhooks,
            namespace=settings.worker.namespace,
            metrics=webhook_metrics,
        ),
        settings=settings.webhooks,
    )
    upkeep = DeliveryUpkeep(
        pool,
        settings=settings.webhooks,
        namespace=settings.worker.namespace,
        metrics=webhook_metrics,
    )
    metrics.watch_files(jobs.count_by_status)
    metrics.watch_queues(lambda: _queue_numbers(broker, settings.worker.queues), broker=broker.kind)
    metrics.watch_outbox(lambda: outbox_backlog(pool, settings.worker.namespace))
    relay = (
        OutboxRelay(
            pool,
            broker,
            # A transaction-mode pooler cannot keep a LISTEN: the relay polls instead.
            database_url=database_url if settings.database.pooler == "none" else None,
            metrics=metrics,
            interval_s=settings.worker.relay_interval_s,
            batch_size=settings.worker.relay_batch_size,
            connect_timeout_s=settings.database.connect_timeout_s,
        )
        if settings.worker.relay
        else None
    )
    for plugin in plugins:
        plugin.declare(broker)
    # A queue whose actors this process lacks is left to workers that have them.
    declared = {settings.ingestion.queue, settings.webhooks.queue, "default"}
    declared |= {q for p in plugins for q in p.queues}
    queues = [queue for queue in settings.worker.queues if queue in declared]
    worker = dramatiq.Worker(broker, queues=set(queues), worker_threads=settings.worker.threads)
    # RabbitMQ returns a dead worker's unacknowledged messages itself; Redis needs a sweep.
    sweeper: DeadWorkerSweeper | None = None
    if isinstance(broker, RedisQueueBroker):
        every_s = min(settings.worker.recovery_interval_s, settings.worker.heartbeat_timeout_s / 3)
        sweeper = DeadWorkerSweeper(broker, settings.worker.queues, interval_s=every_s)
    worker.start()
    if sweeper is not None:
        sweeper.start()
    if relay is not None:
        relay.start()
    upkeep.start()
    _log.info(
        "worker started",
        extra={"queues": queues, "threads": settings.worker.threads, "broker": broker.kind},
    )
    stop.wait()
    _log.info("worker stopping")
    if relay is not None:
        relay.stop()
    upkeep.stop()
    if sweeper is not None:
        sweeper.stop()
    worker.stop(timeout=int(settings.worker.shutdown_timeout_s * 1000))
    for plugin in plugins:
        plugin.close()
    broker.close()
    store.close()
    pool.close()
    if metrics_server is not None:
        metrics_server.shutdown()
    tracing.shutdown()
    _log.info("worker stopped")


def _prepare(ingestor: FileIngestor) -> None:
    """Observer: a failure here shows again, and is retried, when a file is parsed."""
    try:
        ingestor.prepare()
    except Exception:  # noqa: BLE001 - logged; parsing starts its processes on demand
        _log.warning("could not start the parsing processes ahead of work", exc_info=True)


def _open_pool(database_url: str, settings: Settings) -> ConnectionPool:
    def configure(conn: Connection) -> None:
        register_vector(conn)
        conn.commit()

    return ConnectionPool(
        database_url,
        min_size=1,
        max_size=settings.worker.threads + 4,  # + the outbox relay, webhook upkeep, metrics
        kwargs={
            "autocommit": True,
            "connect_timeout": max(1, int(settings.database.connect_timeout_s)),
            "application_name": "ragway-worker",
            **connect_kwargs(settings.database),  # behind a pooler: nothing prepared
        },
        configure=configure,
        check=ConnectionPool.check_connection,
        open=True,
        name="ragway-worker",
    )


def _queue_numbers(broker: QueueBroker, queues: tuple[str, ...]) -> dict[str, tuple[float, float]]:
    """(depth, dead letters) of each queue."""
    return {
        queue: (float(broker.depth(queue)), float(broker.dead_letters(queue))) for queue in queues
    }


def _serve_metrics(settings: Settings, metrics: IngestionMetrics) -> WSGIServer | None:
    port = settings.ingestion.metrics_port
    if port is None:
        return None
    use_created_series(settings.metrics.created_series)
    host = settings.ingestion.metrics_host
    try:
        server, _thread = start_http_server(port, addr=host, registry=metrics.registry)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise MetricsPortInUseError(
            f"the worker's metrics port {host}:{port} is already in use "
            "(ingestion.metrics_port; 0: any free port, null: off)"
        ) from exc
    _log.info(
        "worker metrics listening",
        extra={"host": settings.ingestion.metrics_host, "port": server.server_port},
    )
    return server
