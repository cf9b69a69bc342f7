"""``batches``, ``batch_lines`` and ``batch_results``: every change and the job it needs in
one transaction.

Jobs (``batch_prepare``, ``batch_run``, ``batch_finalize``) are staged in the outbox with
the change that calls for them, so a batch accepted is a batch run, Redis up or not.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.errors import DataError
from psycopg.rows import class_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from gateway.api.batches.protocol import BatchRow, CreateBatch, InputLine, LineError
from ingestion.queue import Job, stage
from ingestion.webhooks import WebhookEvents

__all__ = [
    "FINALIZE_ACTOR",
    "PREPARE_ACTOR",
    "RUN_ACTOR",
    "BatchRepository",
    "LineResult",
    "PendingLine",
]

PREPARE_ACTOR = "batch_prepare"
RUN_ACTOR = "batch_run"
FINALIZE_ACTOR = "batch_finalize"

_COLUMNS = (
    "id, key_id, endpoint, input_file_id, completion_window, status, metadata, errors, total, "
    "completed, failed, output_file_id, error_file_id, created_at, expires_at, in_progress_at, "
    "finalizing_at, completed_at, failed_at, expired_at, cancelling_at, cancelled_at"
)
_INSERT = (
    "INSERT INTO batches (id, key_id, endpoint, input_file_id, completion_window, status, "  # noqa: S608 - fixed text
    "metadata, expires_at) VALUES (%s, %s, %s, %s, %s, 'validating', %s, "
    "now() + make_interval(secs => %s)) RETURNING " + _COLUMNS
)
_RUNNING = ("validating", "in_progress", "cancelling", "finalizing")
# Lines' answers recorded and counted, one statement (one round trip for the group):
# - the batch's row first, locked: a finalizing (which locks it to move the batch on) sees
#   every line recorded before it, and no line is recorded after it (a line still running
#   when a cancel is finalized stays a cancelled line, and the counts stay those of the
#   files); the answers are inserted only from that locked row;
# - a line recorded already (a message delivered twice) keeps its first answer and is not
#   counted again (``ON CONFLICT DO NOTHING``);
# - the commit does not wait for the WAL flush (``synchronous_commit`` off, this transaction
#   only): a crash of Postgres itself may forget the last lines recorded, which then run
#   again; none is recorded twice or lost.
# True when this group's lines were the batch's last (the finalizing is then queued).
_RECORD = """
WITH batch AS (
    SELECT id FROM batches WHERE id = %s AND status IN ('in_progress', 'cancelling')
    FOR NO KEY UPDATE
), recorded AS (
    INSERT INTO batch_results (batch_id, line, status_code, request_id, response)
    SELECT batch.id, v.line, v.status, v.request_id, v.body
    FROM batch, json_to_recordset(%s::json) AS v(line int, status int, request_id text, body json)
    ON CONFLICT (batch_id, line) DO NOTHING
    RETURNING status_code BETWEEN 200 AND 299 AS ok
), counted AS (
    UPDATE batches SET completed = completed + (SELECT count(*) FROM recorded WHERE ok),
        failed = failed + (SELECT count(*) FROM recorded WHERE NOT ok)
    WHERE id = (SELECT id FROM batch) AND EXISTS (SELECT FROM recorded)
    RETURNING completed + failed = total AS last
)
SELECT coalesce((SELECT last FROM counted), false),
    set_config('synchronous_commit', 'off', true)
"""


class PendingLine:
    """A line to run: its body as JSON text (handed to the serving as it is, not parsed
    here) and the model alias it names (``""`` if none)."""

    __slots__ = ("body", "custom_id", "line", "model")

    def __init__(self, line: int, custom_id: str, body: str, model: str | None) -> None:
        self.line = line
        self.custom_id = custom_id
        self.body = body
        self.model = model or ""


class LineResult:
    """What running one line gave: its HTTP status, request id and answer body (JSON text,
    as the serving answered it)."""

    __slots__ = ("body_json", "request_id", "status_code")

    def __init__(self, status_code: int, request_id: str | None, body_json: str) -> None:
        self.status_code = status_code
        self.request_id = request_id
        self.body_json = body_json


class BatchRepository:
    """``events`` records ``batch.completed/failed/cancelled/expired`` (webhooks) in the
    transaction that ends the batch."""

    def __init__(
        self,
        pool: AsyncConnectionPool,
        *,
        namespace: str,
        queue_name: str,
        events: WebhookEvents,
    ) -> None:
        self._pool = pool
        self._namespace = namespace
        self._queue = queue_name
        self._events = events

    def _job(self, actor: str, *args: Any) -> Job:
        return Job(self._queue, actor, args)

    async def _stage(self, conn: AsyncConnection[Any], jobs: Sequence[Job]) -> None:
        await stage(conn, self._namespace, jobs)

    # -- the API's side ---------------------------------------------------------------
    async def create(
        self, batch_id: str, key_id: str, body: CreateBatch, *, window_s: int
    ) -> BatchRow:
        async with self._pool.connection() as conn, conn.transaction():
            cursor = conn.cursor(row_factory=class_row(BatchRow))
            await cursor.execute(
                _INSERT,
                (
                    batch_id,
                    key_id,
                    body.endpoint,
                    body.input_file_id,
                    body.completion_window,
                    Jsonb(body.metadata) if body.metadata is not None else None,
                    window_s,
                ),
            )
            row = await cursor.fetchone()
            await self._stage(conn, [self._job(PREPARE_ACTOR, batch_id)])
        assert row is not None
        return row

    async def get(self, batch_id: str) -> BatchRow | None:
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=class_row(BatchRow))
            await cursor.execute(
                f"SELECT {_COLUMNS} FROM batches WHERE id = %s",  # noqa: S608 - fixed columns
                (batch_id,),
            )
            return await cursor.fetchone()

    async def list_page(
        self, key_id: str | None, *, after: str | None, limit: int
    ) -> tuple[list[BatchRow], bool]:
        """Newest first; ``key_id`` None lists every key's batches (admins)."""
        where, params = ["true"], []
        if key_id is not None:
            where.append("key_id = %s")
            params.append(key_id)
        if after is not None:
            where.append("(created_at, id) < (SELECT created_at, id FROM batches WHERE id = %s)")
            params.append(after)
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=class_row(BatchRow))
            await cursor.execute(
                f"SELECT {_COLUMNS} FROM batches WHERE {' AND '.join(where)} "  # noqa: S608
                "ORDER BY created_at DESC, id DESC LIMIT %s",
                (*params, limit + 1),
            )
            rows = await cursor.fetchall()
        return rows[:limit], len(rows) > limit

    async def cancel(self, batch_id: str) -> None:
        """``cancelling`` (then ``cancelled`` once the lines running now are done)."""
        async with self._pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(
                "UPDATE batches SET status = 'cancelling', cancelling_at = now() "
                "WHERE id = %s AND status IN ('validating', 'in_progress')",
                (batch_id,),
            )
            if cursor.rowcount:
                await self._stage(conn, [self._job(FINALIZE_ACTOR, batch_id)])

    # -- the worker's side ------------------------------------------------------------
    async def start(self, batch_id: str, lines: list[InputLine], *, lines_per_job: int) -> bool:
        """Store the lines and queue them in jobs of ``lines_per_job``; False if the batch
        was cancelled (or started) meanwhile."""
        async with self._pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(
                "UPDATE batches SET status = 'in_progress', in_progress_at = now(), total = %s "
                "WHERE id = %s AND status = 'validating'",
                (len(lines), batch_id),
            )
            if cursor.rowcount == 0:
                return False
            async with (
                conn.cursor() as copy_cursor,
                copy_cursor.copy(
                    "COPY batch_lines (batch_id, line, custom_id, body) FROM STDIN"
                ) as copy,
            ):
                for item in lines:
                    await copy.write_row((batch_id, item.line, item.custom_id, item.body))
            jobs = [
                self._job(RUN_ACTOR, batch_id, first, min(first + lines_per_job, len(lines)))
                for first in range(0, len(lines), lines_per_job)
            ]
            await self._stage(conn, jobs)
        return True

    async def fail_validation(self, batch_id: str, errors: list[LineError]) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(
                "UPDATE batches SET status = 'failed', failed_at = now(), errors = %s "
                "WHERE id = %s AND status = 'validating'",
                (Jsonb([e.as_dict() for e in errors]), batch_id),
            )
            if cursor.rowcount:
                await self._events.record(conn, "batch.failed", {"id": batch_id})

    async def pending(self, batch_id: str, first: int, end: int) -> list[PendingLine]:
        """The lines of ``[first, end)`` with no answer recorded, in order."""
        # Two reads by the key, joined here: a join in SQL is planned from statistics that
        # know nothing of a batch started seconds ago, and was seen scanning every answer of
        # the batch per line.
        async with self._pool.connection() as conn:
            lines = await (
                await conn.execute(
                    "SELECT line, custom_id, body::text, body->>'model' FROM batch_lines "
                    "WHERE batch_id = %s AND line >= %s AND line < %s ORDER BY line",
                    (batch_id, first, end),
                )
            ).fetchall()
            recorded = await _recorded(conn, batch_id, "line", first, end)
        return [PendingLine(*row) for row in lines if row[0] not in recorded]

    async def finish_lines(self, batch_id: str, results: Sequence[tuple[int, LineResult]]) -> None:
        """Record lines' answers and count them, each once, in one transaction; the last
        lines queue the finalizing. Nothing is recorded once the batch is finalizing (see
        ``_RECORD``)."""
        if not results:
            return
        # One JSON array parameter: the answers are JSON text already, joined as they are
        # (no per-element array escaping, no parse and re-serialise).
        rows = ",".join(
            f'{{"line":{line},"status":{r.status_code},'
            f'"request_id":{json.dumps(r.request_id)},"body":{r.body_json}}}'
            for line, r in results
        )
        try:
            await self._record(batch_id, f"[{rows}]")
        except DataError:  # an answer that is not JSON after all: each checked, then again
            checked = [(line, _checked(r)) for line, r in results]
            if checked == list(results):
                raise
            await self.finish_lines(batch_id, checked)

    async def _record(self, batch_id: str, rows: str) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            row = await (await conn.execute(_RECORD, (batch_id, rows))).fetchone()
            if row is not None and row[0]:
                await self._stage(conn, [self._job(FINALIZE_ACTOR, batch_id)])

    async def status(self, batch_id: str) -> str | None:
        async with self._pool.connection() as conn:
            row = await (
                await conn.execute("SELECT status FROM batches WHERE id = %s", (batch_id,))
            ).fetchone()
        return None if row is None else str(row[0])

    async def begin_finalizing(self, batch_id: str) -> BatchRow | None:
        """Move a batch whose lines are all done (or that is cancelling or past its window)
        to ``finalizing``; None when there is nothing to finalize yet (or any more)."""
        async with self._pool.connection() as conn, conn.transaction():
            cursor = conn.cursor(row_factory=class_row(BatchRow))
            await cursor.execute(
                f"SELECT {_COLUMNS} FROM batches WHERE id = %s FOR UPDATE",  # noqa: S608
                (batch_id,),
            )
            row = await cursor.fetchone()
            if row is None or row.status not in _RUNNING or row.status == "validating":
                return None
            unfinished = row.completed + row.failed < row.total
            if row.status == "in_progress" and unfinished and not await _past(conn, row.expires_at):
                return None
            await conn.execute(
                "UPDATE batches SET status = 'finalizing', "
                "finalizing_at = coalesce(finalizing_at, now()) WHERE id = %s",
                (batch_id,),
            )
        return row

    async def results(
        self, batch_id: str
    ) -> list[tuple[int, str, str, int | None, str | None, str | None]]:
        """Every line: (line, custom_id, state, status_code, response as JSON text,
        request_id), in order; state ``pending`` for a line with no answer."""
        async with self._pool.connection() as conn:
            lines = await (
                await conn.execute(
                    "SELECT line, custom_id FROM batch_lines WHERE batch_id = %s ORDER BY line",
                    (batch_id,),
                )
            ).fetchall()
            end = lines[-1][0] + 1 if lines else 0
            answers = await _recorded(
                conn, batch_id, "line, status_code, response::text, request_id", 0, end
            )
        rows: list[tuple[int, str, str, int | None, str | None, str | None]] = []
        for line, custom_id in lines:
            answer = answers.get(line)
            if answer is None:
                rows.append((line, custom_id, "pending", None, None, None))
            else:
                status, body, request_id = answer
                state = "done" if 200 <= status < 300 else "failed"
                rows.append((line, custom_id, state, status, body, request_id))
        return rows

    async def finish(
        self,
        batch_id: str,
        *,
        status: str,
        output_file_id: str | None,
        error_file_id: str | None,
    ) -> None:
        column = {"completed": "completed_at", "cancelled": "cancelled_at", "expired": "expired_at"}
        async with self._pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(
                f"UPDATE batches SET status = %s, {column[status]} = now(), "  # noqa: S608
                "output_file_id = %s, error_file_id = %s "
                "WHERE id = %s AND status = 'finalizing'",
                (status, output_file_id, error_file_id, batch_id),
            )
            if cursor.rowcount:
                await self._events.record(conn, f"batch.{status}", {"id": batch_id})


def _checked(result: LineResult) -> LineResult:
    """``result``, or a 502 in OpenAI's error shape when its body is not JSON."""
    try:
        json.loads(result.body_json)
    except ValueError:
        error = {
            "message": "the answer was not JSON",
            "type": "server_error",
            "param": None,
            "code": "invalid_response",
        }
        return LineResult(502, result.request_id, json.dumps({"error": error}))
    return result


async def _recorded(
    conn: AsyncConnection[Any], batch_id: str, columns: str, first: int, end: int
) -> dict[int, Any]:
    """The answers recorded for lines ``[first, end)``: ``columns`` (``line`` first) by line."""
    rows = await (
        await conn.execute(
            f"SELECT {columns} FROM batch_results "  # noqa: S608 - the callers' fixed columns
            "WHERE batch_id = %s AND line >= %s AND line < %s",
            (batch_id, first, end),
        )
    ).fetchall()
    return {row[0]: row[1:] for row in rows}


async def _past(conn: AsyncConnection[Any], at: datetime) -> bool:
    row = await (await conn.execute("SELECT now() >= %s", (at,))).fetchone()
    return bool(row and row[0])
