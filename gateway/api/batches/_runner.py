"""Running a batch on a worker: read and check its input, run its lines, write its files.

Each line is served by the same ``OpenAIServing`` as a live request, on the batch key's
behalf (``serve(principal=)``): model allowances, tool permissions, PII masking, quotas (one
charge per line), the usage ledger and the metrics all apply. Lines run concurrently up to
``batches.concurrency_per_model`` per model alias in this process. A line's answer and its
count are recorded in one transaction, once, so a message delivered twice (a worker killed
mid-job, a relay killed mid-publish) re-runs only the lines not recorded yet.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

import anyio.to_thread

from configs import BatchSettings
from gateway.api.batches._repository import BatchRepository, LineResult, PendingLine
from gateway.api.batches.protocol import BatchRow, LineError, parse_input
from gateway.api.http._local import LocalExchange
from gateway.api.openai._serving import OpenAIServing
from gateway.policy.auth import Principal, active_principal
from gateway.policy.keys import KeyService
from ingestion.collections import FileRecord, FileRepository
from ingestion.storage import ObjectStorage

__all__ = ["BatchRunner"]

_log = logging.getLogger(__name__)

_GROUP = 50  # lines recorded in one transaction
_GROUP_S = 0.1  # ... or after this long
_STATUS_S = 0.25  # how stale a job's view of a cancel may be

_TERMINAL_LINE_ERRORS = {
    "cancelled": ("batch_cancelled", "the batch was cancelled before this request ran"),
    "expired": ("batch_expired", "the batch's completion window ended before this request ran"),
}


class BatchRunner:
    """Built once per worker process with the gateway's servings (by path) and stores."""

    def __init__(
        self,
        *,
        batches: BatchRepository,
        files: FileRepository,
        storage: ObjectStorage,
        keys: KeyService,
        servings: Mapping[str, OpenAIServing],
        settings: BatchSettings,
    ) -> None:
        self._batches = batches
        self._files = files
        self._storage = storage
        self._keys = keys
        self._servings = servings
        self._settings = settings
        self._slots: dict[str, asyncio.Semaphore] = {}

    # -- batch_prepare ----------------------------------------------------------------
    async def prepare(self, batch_id: str) -> None:
        row = await self._batches.get(batch_id)
        if row is None or row.status != "validating":
            return
        data, problem = await self._input(row)
        if problem is not None:
            await self._batches.fail_validation(batch_id, [problem])
            return
        # Parsed off the event loop: tens of thousands of lines while other batches run.
        lines, errors = await anyio.to_thread.run_sync(
            functools.partial(
                parse_input, data, endpoint=row.endpoint, max_lines=self._settings.max_requests
            )
        )
        if errors:
            await self._batches.fail_validation(batch_id, errors)
            return
        await self._batches.start(batch_id, lines, lines_per_job=self._settings.lines_per_job)

    async def _input(self, row: BatchRow) -> tuple[bytes, LineError | None]:
        record = await self._files.get(row.input_file_id)
        if record is None:
            return b"", LineError("invalid_file", f"no file with id {row.input_file_id!r}")
        if record.purpose != "batch":
            return b"", LineError("invalid_file", "the input file's purpose must be 'batch'")
        if record.bytes > self._settings.max_input_bytes:
            message = f"the input file is over {self._settings.max_input_bytes} bytes"
            return b"", LineError("invalid_file", message)

        def read() -> bytes:
            with self._storage.read(record.sha256) as handle:
                return handle.read()

        return await anyio.to_thread.run_sync(read), None

    # -- batch_run --------------------------------------------------------------------
    async def run(self, batch_id: str, first: int, end: int) -> None:
        row = await self._batches.get(batch_id)
        if row is None or row.status != "in_progress":
            return  # cancelling: the cancel queued the finalizing; finished: nothing left
        if row.expires_at.timestamp() <= time.time():
            await self.finalize(batch_id)  # its window has ended: what did not run expires
            return
        serving = self._servings[row.endpoint]
        principal = await active_principal(self._keys, row.key_id)  # None: revoked, gone
        lines = await self._batches.pending(batch_id, first, end)
        recorder = _Recorder(self._batches, batch_id)
        status = _StatusWatch(self._batches, batch_id, row.status)
        try:
            await asyncio.gather(
                *(self._line(row, serving, principal, line, recorder, status) for line in lines)
            )
        finally:
            await recorder.close()

    async def _line(
        self,
        row: BatchRow,
        serving: OpenAIServing,
        principal: Principal | None,
        line: PendingLine,
        recorder: _Recorder,
        status: _StatusWatch,
    ) -> None:
        slots = self._slots.get(line.model)
        if slots is None:
            slots = self._slots[line.model] = asyncio.Semaphore(
                self._settings.concurrency_per_model
            )
        async with slots:
            if await status.current() != "in_progress":
                return  # cancelled meanwhile: the line ends in the error file
            if principal is None:
                gone = _error_body("invalid_api_key", "the batch's API key is gone")
                result = LineResult(401, None, json.dumps(gone))
            else:
                result = await _serve_line(serving, principal, row.id, line)
        await recorder.add(line.line, result)

    # -- batch_finalize -----------------------------------------------------------------
    async def finalize(self, batch_id: str) -> None:
        row = await self._batches.begin_finalizing(batch_id)
        if row is None:
            return
        if row.status == "cancelling":
            final = "cancelled"
        elif row.completed + row.failed < row.total:
            final = "expired"
        else:
            final = "completed"
        unrun = _TERMINAL_LINE_ERRORS["cancelled" if final == "cancelled" else "expired"]
        rows = await self._batches.results(batch_id)
        # Tens of thousands of lines: built off the event loop, which serves other batches.
        output, errors = await anyio.to_thread.run_sync(_files_of, batch_id, rows, unrun)
        output_id = await self._write(row, "output", output)
        error_id = await self._write(row, "errors", errors)
        await self._batches.finish(
            batch_id, status=final, output_file_id=output_id, error_file_id=error_id
        )
        _log.info(
            "batch finished",
            extra={"batch_id": batch_id, "status": final, "ok": len(output), "errors": len(errors)},
        )

    async def _write(self, row: BatchRow, kind: str, entries: list[bytes]) -> str | None:
        """The output or error file (``batch_output``), under an id fixed by the batch: a
        finalizing that is run again finds the file it wrote before."""
        if not entries:
            return None
        file_id = f"file-{_digest(row.id, kind)}"
        if await self._files.get(file_id) is not None:
            return file_id
        data = b"".join(entries)

        def stage() -> Any:
            writer = self._storage.writer()
            writer.write(data)
            return writer.finish()

        staged = await anyio.to_thread.run_sync(stage)
        record = FileRecord(
            id=file_id,
            owner_key_id=row.key_id,
            filename=f"{row.id}_{kind}.jsonl",
            purpose="batch_output",
            bytes=staged.size,
            sha256=staged.key,
            content_type="application/jsonl",
            created_at=row.created_at,
        )
        try:
            await self._files.insert(record, commit_bytes=lambda: self._storage.commit(staged))
        except BaseException:
            with anyio.CancelScope(shield=True):  # blocks: a disk, or S3
                await anyio.to_thread.run_sync(self._storage.discard, staged)
            raise
        return file_id


class _Recorder:
    """Records a job's finished lines in groups (one transaction per ``_GROUP`` lines or
    ``_GROUP_S`` seconds, whichever first), not one transaction per line: the batch's
    counters are one row that every line would otherwise queue on."""

    def __init__(self, batches: BatchRepository, batch_id: str) -> None:
        self._batches = batches
        self._batch_id = batch_id
        self._pending: list[tuple[int, LineResult]] = []
        self._lock = asyncio.Lock()
        self._flusher = asyncio.get_running_loop().create_task(self._every())

    async def add(self, line: int, result: LineResult) -> None:
        self._pending.append((line, result))
        if len(self._pending) >= _GROUP:
            await self.flush()

    async def flush(self) -> None:
        """A group that cannot be recorded is kept: the job's last flush raises with it, and
        the job is retried (its lines not recorded run again)."""
        async with self._lock:
            group, self._pending = self._pending, []
            try:
                await self._batches.finish_lines(self._batch_id, group)
            except BaseException:
                self._pending[:0] = group
                raise

    async def close(self) -> None:
        self._flusher.cancel()
        await self.flush()

    async def _every(self) -> None:
        while True:
            await asyncio.sleep(_GROUP_S)
            if self._pending:
                try:
                    await self.flush()
                except Exception:  # noqa: BLE001 - kept for the job's last flush, which raises
                    _log.warning("could not record batch lines yet", exc_info=True)


class _StatusWatch:
    """The batch's status, read again at most every ``_STATUS_S`` seconds: a cancel stops
    new lines within that, without a query per line. Lines that ask while it is read
    again wait for that read (not the status read before it, however old)."""

    def __init__(self, batches: BatchRepository, batch_id: str, status: str) -> None:
        self._batches = batches
        self._batch_id = batch_id
        self._status: str | None = status  # as the job read it when it started
        self._read_at = time.monotonic()
        self._reading = asyncio.Lock()

    async def current(self) -> str | None:
        if time.monotonic() - self._read_at >= _STATUS_S:
            async with self._reading:
                if time.monotonic() - self._read_at >= _STATUS_S:
                    self._status = await self._batches.status(self._batch_id)
                    self._read_at = time.monotonic()
        return self._status


async def _serve_line(
    serving: OpenAIServing, principal: Principal, batch_id: str, line: PendingLine
) -> LineResult:
    request_id = f"{batch_id}-{line.line}"
    exchange = LocalExchange(
        line.body.encode(),
        headers={"content-type": "application/json", "x-request-id": request_id},
    )
    await serving.serve(exchange, principal=principal)
    # The serving answers JSON of its own making (an error in OpenAI's shape included).
    body = exchange.body.decode() if exchange.body else "null"
    return LineResult(
        exchange.status or 500, exchange.response_headers.get("x-request-id", request_id), body
    )


def _files_of(
    batch_id: str,
    rows: list[tuple[int, str, str, int | None, str | None, str | None]],
    unrun: tuple[str, str],
) -> tuple[list[bytes], list[bytes]]:
    """The output file's lines and the error file's, in OpenAI's line shape. The answers
    are JSON text as stored, placed as they are (not parsed and written again), but for the
    failed ones, whose error is read out."""
    output: list[bytes] = []
    errors: list[bytes] = []
    for line, custom_id, state, status, body, request_id in rows:
        head = (
            f'{{"id":"batch_req_{_digest(batch_id, str(line))}",'
            f'"custom_id":{json.dumps(custom_id)},'
        )
        if state == "pending":
            error = json.dumps({"code": unrun[0], "message": unrun[1]})
            errors.append(f'{head}"response":null,"error":{error}}}\n'.encode())
            continue
        response = (
            f'{{"status_code":{status if status is not None else "null"},'
            f'"request_id":{json.dumps(request_id)},"body":{body or "null"}}}'
        )
        if state == "done":
            output.append(f'{head}"response":{response},"error":null}}\n'.encode())
        else:
            error = json.dumps(_line_error(body))
            errors.append(f'{head}"response":{response},"error":{error}}}\n'.encode())
    return output, errors


def _line_error(body: str | None) -> dict[str, Any]:
    try:
        response = json.loads(body) if body else None
    except ValueError:
        response = None
    error = response.get("error") if isinstance(response, dict) else None
    if isinstance(error, dict):
        return {"code": error.get("code"), "message": error.get("message")}
    return {"code": "server_error", "message": "the request failed"}


def _error_body(code: str, message: str) -> dict[str, Any]:
    error = {"message": message, "type": "invalid_request_error", "param": None, "code": code}
    return {"error": error}


def _digest(*parts: str) -> str:
    return hashlib.sha256(":".join(parts).encode()).hexdigest()[:24]
