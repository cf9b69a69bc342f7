"""The gateway's work on ``ragway worker``: batches and background responses, run through
the gateway's own policy.

A worker process builds the same composition as a gateway process (``Gateway.open``), on an
event loop of its own thread, the first time a batch or background-response message arrives
(a worker that only ingests never loads the policy's models); Dramatiq's threads hand it
coroutines. Actors take ids and are idempotent: every step checks the batch's state, and
each line's answer is recorded once (``gateway.api.batches``); a background response is
claimed once, and runs on that loop after its message is acknowledged, under a lease that
a sweep thread here queues again when its worker died (``gateway.api.openai.responses``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any

import dramatiq
import psycopg
import uvloop

from configs import Settings
from gateway.api.batches import FINALIZE_ACTOR, PREPARE_ACTOR, RUN_ACTOR
from gateway.api.openai.responses import RUN_ACTOR as RESPONSE_ACTOR
from gateway.api.openai.responses import requeue_expired
from gateway.entry.compose import Gateway
from gateway.platform import tracing

__all__ = ["GatewayJobs"]

_log = logging.getLogger(__name__)

_RUN_TIME_LIMIT_MS = 6 * 3600 * 1000  # a job of lines_per_job lines against a slow model


class GatewayJobs:
    """A ``WorkerPlugin`` (``ingestion.worker``): declares the batch actors on the broker."""

    def __init__(self, settings: Settings, *, database_url: str, redis_url: str | None) -> None:
        # No busy polling: it buys a live request's latency with a spinning loop, and here
        # it would spin against the worker's own threads for lines that nobody waits on.
        quiet = settings.gateway.model_copy(update={"busy_poll_us": 0})
        self._settings = settings.model_copy(update={"gateway": quiet})
        self._database_url = database_url
        self._redis_url = redis_url
        self._loop = uvloop.new_event_loop()  # the gateway's loop: its protocols are tuned on it
        self._thread = threading.Thread(
            target=self._loop.run_forever, daemon=True, name="gateway-jobs"
        )
        self._lock = threading.Lock()
        self._gateway: Gateway | None = None
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None
        self.queues: tuple[str, ...] = (
            settings.batches.queue,
            settings.responses.background_queue,
        )

    def declare(self, broker: dramatiq.Broker) -> None:
        queue = self._settings.batches.queue

        def batch_prepare(batch_id: str) -> None:
            self._run(lambda runner: runner.prepare(batch_id))

        def batch_run(batch_id: str, first: int, end: int) -> None:
            self._run(lambda runner: runner.run(batch_id, first, end))

        def batch_finalize(batch_id: str) -> None:
            self._run(lambda runner: runner.finalize(batch_id))

        def response_run(response_id: str) -> None:
            # Returns once the response runs on the loop (or was not this worker's to run).
            self._submit(self._opened().background_runner.start(response_id)).result()

        background_queue = self._settings.responses.background_queue
        for name, function, limit, on in (
            (PREPARE_ACTOR, batch_prepare, 600_000, queue),
            (RUN_ACTOR, batch_run, _RUN_TIME_LIMIT_MS, queue),
            (FINALIZE_ACTOR, batch_finalize, 600_000, queue),
            (RESPONSE_ACTOR, response_run, 600_000, background_queue),
        ):
            dramatiq.actor(
                broker=broker,
                actor_name=name,
                queue_name=on,
                time_limit=limit,
                max_retries=20,
                min_backoff=500,
                max_backoff=60_000,
            )(function)
        if background_queue in self._settings.worker.queues and self._sweeper is None:
            self._sweeper = threading.Thread(
                target=self._sweep, daemon=True, name="background-responses-sweep"
            )
            self._sweeper.start()

    def _sweep(self) -> None:
        """Every half lease: queue again the background responses whose worker died."""
        settings = self._settings.responses
        namespace = self._settings.worker.namespace
        while not self._stop.wait(settings.background_lease_s / 2):
            try:
                # Nothing prepared (its outbox rows go in with executemany): a server
                # connection behind a transaction-mode pooler is left as it was found.
                with psycopg.connect(
                    self._database_url, connect_timeout=10, prepare_threshold=None
                ) as conn:
                    again = requeue_expired(conn, settings=settings, namespace=namespace)
            except psycopg.Error:
                _log.warning("could not sweep background responses", exc_info=True)
                continue
            if again:
                _log.warning("background responses queued again", extra={"count": again})

    def close(self) -> None:
        self._stop.set()
        if self._gateway is not None:
            self._submit(self._gateway.close()).result(30)
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def _run(self, step: Any) -> None:
        runner = self._opened().batch_runner
        self._submit(step(runner)).result()

    def _opened(self) -> Gateway:
        with self._lock:
            if self._gateway is None:
                if not self._thread.is_alive():
                    self._thread.start()
                self._gateway = self._submit(
                    Gateway.open(
                        self._settings,
                        database_url=self._database_url,
                        redis_url=self._redis_url,
                        env=os.environ,
                    )
                ).result()
                _log.info("gateway policy loaded for batches and background responses")
            return self._gateway

    def _submit(self, coroutine: Coroutine[Any, Any, Any]) -> Future[Any]:
        if tracing.tracer() is not None:  # the message's span goes on on the loop
            coroutine = tracing.carried(coroutine)
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)
