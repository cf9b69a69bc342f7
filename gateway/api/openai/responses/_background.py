"""Background responses (``background: true``): accepted at once, run by a worker.

The gateway checks the request as for any response (its body, model, conversation and
file_search stores), then writes the response ``queued`` with the client's body and stages
a ``response_run`` job in the same transaction (the outbox: accepted is run, Redis up or
not). A worker claims it (``in_progress``, under a lease it renews while it runs) and
serves the stored body through ``ResponsesServing.serve(principal=)`` on the key's behalf,
so the whole policy runs there: allowances, tools, PII, quotas, the usage ledger. The
finished object replaces the body in the transaction that records the
``response.completed/failed/incomplete`` webhook event.

A streamed one (``stream: true``) keeps every event as the SSE frame sent, numbered by
``sequence_number``: ``response.created`` (``queued``, 0) when accepted, the worker's from
``response.in_progress`` (1) on. The client that created it, and any later
``GET /v1/responses/{id}?stream=true&starting_after=N``, follow those rows until the
response has ended; a client that goes away stops following, not the run.

``POST /v1/responses/{id}/cancel`` ends a queued or running one as ``cancelled``; the
worker sees it within ``_WATCH_S`` and stops its upstream call as if a client had gone.
A worker that dies stops renewing: once the lease has run out the response is queued
again (``requeue_expired``), up to ``background_max_attempts`` runs; a streamed one whose
events had reached past ``response.in_progress`` fails instead (its followers saw them).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import msgspec
import psycopg
from psycopg_pool import PoolTimeout

from configs import ResponsesSettings
from gateway.api.http._local import LocalExchange
from gateway.api.openai.responses._background_store import (
    RUN_ACTOR,
    BackgroundStore,
    Claimed,
    requeue_expired,
)
from gateway.api.openai.responses._response import error_code
from gateway.policy.auth import active_principal
from gateway.policy.keys import KeyService

__all__ = [
    "RUN_ACTOR",
    "BackgroundRun",
    "BackgroundRunner",
    "BackgroundStore",
    "current_run",
    "requeue_expired",
]

_log = logging.getLogger(__name__)

_WATCH_S = 0.5  # how long a cancel may take to reach the worker running the response

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode

_RUN: ContextVar[BackgroundRun | None] = ContextVar("ragway_background_run", default=None)


def current_run() -> BackgroundRun | None:
    """The background response this task runs for a worker (None: a client's request)."""
    return _RUN.get()


@dataclass(slots=True)
class BackgroundRun:
    """One claimed run: the id and time the client was given; ``response``, once the
    serving has the finished object (it is kept by the runner, not by ``store.save``)."""

    response_id: str
    created_at: int
    response: dict[str, Any] | None = None


class _RecordingExchange(LocalExchange):
    """The worker's exchange for a streamed run: each SSE frame the serving sends is kept
    (``record_events``) before the serving goes on; the last ``response`` event seen is
    how the run ended when the serving did not keep one (``response.failed``)."""

    def __init__(self, body: bytes, *, store: BackgroundStore, response_id: str) -> None:
        super().__init__(body, headers={"content-type": "application/json"})
        self._store = store
        self._id = response_id
        self.ended: dict[str, Any] | None = None

    async def send_chunk(self, data: bytes) -> None:
        frames: list[tuple[int, str]] = []
        for frame in data.split(b"\n\n"):
            if not frame:
                continue
            _, _, payload = frame.partition(b"\ndata: ")
            event = _decode(payload)
            response = event.get("response")
            if isinstance(response, dict) and event.get("type") != "response.in_progress":
                self.ended = response
            frames.append((int(event["sequence_number"]), (frame + b"\n\n").decode()))
        await self._store.record_events(self._id, frames)

    async def end_stream(self, data: bytes) -> None:
        if data:
            await self.send_chunk(data)


@dataclass(slots=True)
class BackgroundRunner:
    """Runs background responses on a worker (``start`` per job), at most
    ``background_concurrency`` at once; one watcher per process renews their leases and
    stops those cancelled, in one statement for all of them."""

    store: BackgroundStore
    serving: Any  # ResponsesServing (not imported: it imports this module)
    keys: KeyService
    settings: ResponsesSettings
    _slots: asyncio.Semaphore | None = None
    _running: dict[str, tuple[asyncio.Task[None], LocalExchange]] = field(default_factory=dict)
    _watcher: asyncio.Task[None] | None = None

    async def start(self, response_id: str) -> None:
        """Claim the response and start running it; returns once it runs (or is not this
        worker's to run). Waits for a free slot first: the job stays unacknowledged, so a
        worker that is full leaves the queue's other messages to other workers."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.settings.background_concurrency)
        await self._slots.acquire()
        try:
            claimed = await self.store.claim(response_id)
        except BaseException:
            self._slots.release()
            raise
        if claimed is None:
            self._slots.release()
            return
        exchange: LocalExchange = (
            _RecordingExchange(claimed.request, store=self.store, response_id=response_id)
            if claimed.streamed
            else LocalExchange(claimed.request, headers={"content-type": "application/json"})
        )
        task = asyncio.get_running_loop().create_task(self._run(response_id, claimed, exchange))
        self._running[response_id] = (task, exchange)
        task.add_done_callback(lambda _: self._done(response_id))
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.get_running_loop().create_task(self._watch())

    def _done(self, response_id: str) -> None:
        self._running.pop(response_id, None)
        if self._slots is not None:
            self._slots.release()

    async def _run(self, response_id: str, claimed: Claimed, exchange: LocalExchange) -> None:
        try:
            await self._serve(response_id, claimed, exchange)
        except Exception:  # noqa: BLE001 - a task's end: logged, run again after its lease
            _log.exception("background response %s could not be run", response_id)
            # Left in_progress: its lease runs out and it is queued again.

    async def _serve(self, response_id: str, claimed: Claimed, exchange: LocalExchange) -> None:
        if claimed.attempts > self.settings.background_max_attempts or (
            claimed.streamed and claimed.last_sequence > 1
        ):
            message = "the worker running this response stopped; create it again"
            await self.store.finish(response_id, _failed(claimed.queued, message))
            return
        principal = await active_principal(self.keys, claimed.key_id)
        if principal is None:
            message = "the API key that created this response is no longer valid"
            await self.store.finish(
                response_id, _failed(claimed.queued, message, code="invalid_prompt")
            )
            return
        run = BackgroundRun(response_id, claimed.created_at)
        token = _RUN.set(run)
        try:
            await self.serving.serve(exchange, principal=principal)
        finally:
            _RUN.reset(token)
        if exchange.disconnected:
            return  # cancelled (or deleted): the cancel ended it
        ended = run.response
        if ended is None and isinstance(exchange, _RecordingExchange):
            ended = exchange.ended
        if ended is None:
            ended = _failed_from_answer(claimed.queued, exchange)
        await self.store.finish(response_id, ended)

    async def _watch(self) -> None:
        """Every ``_WATCH_S``: stop the runs no longer this worker's; renew leases every
        third of the lease."""
        renew_every = self.settings.background_lease_s / 3
        renewed = time.monotonic()
        while self._running:
            await asyncio.sleep(_WATCH_S)
            ids = list(self._running)
            if not ids:
                break
            renew = time.monotonic() - renewed >= renew_every
            try:
                mine = await self.store.running(ids, renew=renew)
            except (psycopg.Error, PoolTimeout):
                _log.warning("could not check running background responses", exc_info=True)
                continue
            if renew:
                renewed = time.monotonic()
            for response_id in ids:
                entry = self._running.get(response_id)
                if response_id not in mine and entry is not None:
                    task, exchange = entry
                    exchange.disconnected = True  # served as a client that went away
                    task.cancel()

    async def close(self) -> None:
        """Stop every run (their leases run out: another worker runs them again)."""
        if self._watcher is not None:
            self._watcher.cancel()
        for task, _ in list(self._running.values()):
            task.cancel()
        for task, _ in list(self._running.values()):
            with contextlib.suppress(BaseException):
                await task


def _failed(queued: dict[str, Any], message: str, *, code: str = "server_error") -> dict[str, Any]:
    return {**queued, "status": "failed", "error": {"code": code, "message": message}}


def _failed_from_answer(queued: dict[str, Any], exchange: LocalExchange) -> dict[str, Any]:
    """A run the serving refused or failed (an error answer, not a response)."""
    try:
        answer = json.loads(exchange.body) if exchange.body else None
    except ValueError:
        answer = None
    error = answer.get("error") if isinstance(answer, dict) else None
    message = (
        str(error.get("message")) if isinstance(error, dict) else "the response could not be run"
    )
    return _failed(queued, message, code=error_code(exchange.status))
