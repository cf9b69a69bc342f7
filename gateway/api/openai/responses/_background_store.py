"""The rows of background responses (``_background``): accept one ``queued`` with its run
staged, claim it for a worker under a lease, keep a streamed run's events, end it with its
webhook event, cancel it, follow its events for a client, and queue again those whose
worker died."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import msgspec
import psycopg
from psycopg import Connection
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from configs import ResponsesSettings
from gateway.api.openai.responses._writer import GroupWriter
from gateway.platform.errors import (
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    database_unavailable,
)
from gateway.policy.auth import Principal
from ingestion.queue import Job, stage, stage_sync
from ingestion.webhooks import WebhookEvents

__all__ = ["RUN_ACTOR", "TERMINAL", "BackgroundStore", "Claimed", "requeue_expired"]

_log = logging.getLogger(__name__)

RUN_ACTOR = "response_run"
TERMINAL = frozenset({"completed", "failed", "cancelled", "incomplete"})
_FOLLOW_BATCH = 256  # events one follower read returns
_KEEPALIVE_S = 15.0  # an SSE comment this often while nothing happens (proxies, clients)

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


@dataclass(frozen=True, slots=True)
class Claimed:
    key_id: str
    request: bytes
    queued: dict[str, Any]  # the body as the client got it when accepted
    created_at: int
    attempts: int
    streamed: bool
    last_sequence: int


_VISIBLE = "r.expires_at > now() AND (%(admin)s OR r.key_id = %(key)s)"
# One key's submissions one at a time (a transaction lock), so the cap below is exact.
_PENDING = """
SELECT pg_advisory_xact_lock(hashtextextended('ragway:background:' || %(key)s, 0)),
       (SELECT count(*) FROM responses
         WHERE key_id = %(key)s AND status IN ('queued', 'in_progress'))
"""
_SUBMIT = """
WITH saved AS (
    INSERT INTO responses (id, key_id, previous_response_id, expires_at, body, status, request)
    VALUES (%(id)s, %(key)s, %(previous)s, now() + make_interval(days => %(days)s),
            %(body)s::json, 'queued', %(request)s::json)
    RETURNING id
), items AS (
    INSERT INTO response_items (response_id, position, kind, item_id, item)
    SELECT saved.id, t.n - 1, 'input', t.item ->> 'id', t.item
      FROM saved CROSS JOIN LATERAL json_array_elements(%(items)s::json)
           WITH ORDINALITY AS t (item, n)
)
INSERT INTO response_events (response_id, sequence_number, frame)
SELECT saved.id, 0, %(frame)s FROM saved WHERE %(frame)s::text IS NOT NULL
"""
_CLAIM = """
UPDATE responses AS r
   SET status = 'in_progress', attempts = r.attempts + 1,
       lease_until = now() + make_interval(secs => %(lease)s)
 WHERE r.id = %(id)s AND r.status = 'queued' AND r.expires_at > now()
RETURNING r.key_id, r.request::text, r.body::text, r.attempts,
          (SELECT max(e.sequence_number) FROM response_events AS e WHERE e.response_id = r.id)
"""
_FORGET_EVENTS = "DELETE FROM response_events WHERE response_id = %s AND sequence_number > 0"
# The finished body, only while this run holds it; then its output items after its inputs.
_FINISH = """
UPDATE responses SET status = %(status)s, body = %(body)s::json, request = NULL,
                     lease_until = NULL
 WHERE id = %(id)s AND status = 'in_progress'
"""
_OUTPUT = """
INSERT INTO response_items (response_id, position, kind, item_id, item)
SELECT %(id)s, base.n + t.n - 1, 'output', t.item ->> 'id', t.item
  FROM (SELECT count(*) AS n FROM response_items WHERE response_id = %(id)s) AS base
 CROSS JOIN LATERAL json_array_elements(%(output)s::json) WITH ORDINALITY AS t (item, n)
"""
_CANCEL = f"""
UPDATE responses AS r SET status = 'cancelled', request = NULL, lease_until = NULL
 WHERE r.id = %(id)s AND {_VISIBLE} AND r.status IN ('queued', 'in_progress')
RETURNING r.body::text
"""  # noqa: S608 - fixed text
_STATE = f"SELECT r.status, r.body::text FROM responses AS r WHERE r.id = %(id)s AND {_VISIBLE}"  # noqa: S608
_EVENTS = """
INSERT INTO response_events (response_id, sequence_number, frame)
SELECT r.id, (f.value ->> 0)::integer, f.value ->> 1
  FROM json_to_recordset(%s::json) AS r (id text, frames json)
 CROSS JOIN LATERAL json_array_elements(r.frames) AS f (value)
ON CONFLICT DO NOTHING
"""
_FOLLOW = f"""
SELECT r.status, e.sequence_number, e.frame
  FROM responses AS r
  LEFT JOIN LATERAL (
      SELECT sequence_number, frame FROM response_events
       WHERE response_id = r.id AND sequence_number > %(after)s
       ORDER BY sequence_number LIMIT %(limit)s
  ) AS e ON true
 WHERE r.id = %(id)s AND {_VISIBLE}
 ORDER BY e.sequence_number
"""  # noqa: S608 - fixed text
_STREAMED = "SELECT EXISTS (SELECT 1 FROM response_events WHERE response_id = %s)"
_RUNNING = "SELECT id FROM responses WHERE id = ANY(%s) AND status = 'in_progress'"
_RENEW = """
UPDATE responses SET lease_until = now() + make_interval(secs => %s)
 WHERE id = ANY(%s) AND status = 'in_progress'
"""
_REQUEUE = """
UPDATE responses SET status = 'queued', lease_until = NULL
 WHERE id IN (SELECT id FROM responses
               WHERE status = 'in_progress' AND lease_until < now()
               ORDER BY lease_until LIMIT 500 FOR UPDATE SKIP LOCKED)
RETURNING id
"""


class BackgroundStore:
    """The rows of background responses: accept, claim, record events, end, cancel, follow."""

    def __init__(
        self,
        pool: AsyncConnectionPool,
        settings: ResponsesSettings,
        *,
        namespace: str,
        events: WebhookEvents,
    ) -> None:
        self._pool = pool
        self._settings = settings
        self._namespace = namespace
        self._events = events
        self._event_writer = GroupWriter(self._write_events)

    def _job(self, response_id: str) -> Job:
        return _job(self._settings, response_id)

    # -- the gateway's side -------------------------------------------------------------
    async def submit(
        self,
        response: dict[str, Any],
        *,
        input_items: list[dict[str, Any]],
        request: bytes,
        key_id: str,
        created_frame: bytes | None,
    ) -> None:
        """Keep ``response`` (queued) and the client's ``request``, and stage its run."""
        params = {
            "id": response["id"],
            "key": key_id,
            "previous": response.get("previous_response_id"),
            "days": self._settings.retention_days,
            "body": _encode(response).decode(),
            "request": request.decode(),
            "items": _encode(input_items).decode(),
            "frame": created_frame.decode() if created_frame is not None else None,
        }
        try:
            async with self._pool.connection() as conn, conn.transaction():
                pending = await (await conn.execute(_PENDING, params)).fetchone()
                limit = self._settings.background_max_pending_per_key
                if pending is not None and pending[1] >= limit:
                    raise RateLimitError(
                        f"this API key has {limit} background responses queued or running "
                        "(responses.background_max_pending_per_key); wait for some to end",
                        code="too_many_background_responses",
                    )
                await conn.execute(_SUBMIT, params)
                await stage(conn, self._namespace, [self._job(response["id"])])
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise database_unavailable(exc) from exc

    async def cancel(self, response_id: str, *, principal: Principal) -> dict[str, Any]:
        """End a queued or running background response as ``cancelled``; one that has
        ended already comes back as it is. 404 when not visible, 400 when not background."""
        visible = {"id": response_id, "key": principal.key_id, "admin": principal.is_admin}
        try:
            async with self._pool.connection() as conn, conn.transaction():
                row = await (await conn.execute(_CANCEL, visible)).fetchone()
                if row is not None:
                    await self._events.record(conn, "response.cancelled", {"id": response_id})
                    body: dict[str, Any] = _decode(row[0])
                    body["status"] = "cancelled"
                    return body
                state = await (await conn.execute(_STATE, visible)).fetchone()
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise database_unavailable(exc) from exc
        if state is None:
            raise NotFoundError(f"Response with id '{response_id}' not found.", param="response_id")
        status, text = state
        if status is None:
            raise InvalidRequestError(
                "Only responses created with background: true can be cancelled.",
                param="response_id",
                code="not_background",
            )
        ended: dict[str, Any] = _decode(text)
        ended["status"] = status
        return ended

    async def follow(
        self, response_id: str, *, principal: Principal, after: int
    ) -> AsyncIterator[bytes]:
        """The SSE frames of a streamed background response after ``after``, as they are
        recorded, until it has ended. Checks first (404, 400) before the first frame."""
        visible = {"id": response_id, "key": principal.key_id, "admin": principal.is_admin}
        try:
            async with self._pool.connection() as conn:
                state = await (await conn.execute(_STATE, visible)).fetchone()
                streamed = await (await conn.execute(_STREAMED, (response_id,))).fetchone()
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise database_unavailable(exc) from exc
        if state is None:
            raise NotFoundError(f"Response with id '{response_id}' not found.", param="response_id")
        if state[0] is None or not (streamed and streamed[0]):
            raise InvalidRequestError(
                "Only background responses created with stream: true can be streamed again.",
                param="stream",
                code="not_streamed",
            )
        return self._frames(visible, after)

    async def _frames(self, visible: dict[str, Any], after: int) -> AsyncIterator[bytes]:
        poll = self._settings.stream_poll_s
        quiet_since = time.monotonic()
        while True:
            params = {**visible, "after": after, "limit": _FOLLOW_BATCH}
            try:
                async with self._pool.connection() as conn:
                    rows = await (await conn.execute(_FOLLOW, params)).fetchall()
            except (psycopg.OperationalError, PoolTimeout):
                _log.warning("could not read a background stream's events; trying again")
                rows = [("in_progress", None, None)]
            if not rows:
                return  # deleted (or expired) meanwhile
            status = rows[0][0]
            frames = [frame for _, sequence, frame in rows if sequence is not None]
            if frames:
                after = rows[-1][1]
                quiet_since = time.monotonic()
                yield "".join(frames).encode()
                if len(frames) == _FOLLOW_BATCH:
                    continue
            elif status in TERMINAL:
                return
            elif time.monotonic() - quiet_since >= _KEEPALIVE_S:
                quiet_since = time.monotonic()
                yield b": keep-alive\n\n"
            await asyncio.sleep(poll)

    # -- the worker's side --------------------------------------------------------------
    async def claim(self, response_id: str) -> Claimed | None:
        """Take a queued response for this worker (None: cancelled, deleted, ended or
        taken). A streamed one whose earlier run got no further than
        ``response.in_progress`` loses that run's events; one that got further fails."""
        lease = self._settings.background_lease_s
        async with self._pool.connection() as conn, conn.transaction():
            row = await (await conn.execute(_CLAIM, {"id": response_id, "lease": lease})).fetchone()
            if row is None:
                return None
            key_id, request, body, attempts, last = row
            queued = _decode(body)
            claimed = Claimed(
                key_id=key_id,
                request=(request or "{}").encode(),
                queued=queued,
                created_at=int(queued["created_at"]),
                attempts=attempts,
                streamed=last is not None,
                last_sequence=-1 if last is None else last,
            )
            if claimed.streamed and 0 < claimed.last_sequence <= 1:
                await conn.execute(_FORGET_EVENTS, (response_id,))
        return claimed

    async def record_events(self, response_id: str, frames: list[tuple[int, str]]) -> None:
        """Keep a streamed run's frames (``(sequence_number, frame)``); concurrent runs'
        frames share one statement (``GroupWriter``)."""
        await self._event_writer.put({"id": response_id, "frames": frames})

    async def _write_events(self, rows: list[dict[str, Any]]) -> None:
        async with self._pool.connection() as conn:
            await conn.set_autocommit(True)
            try:
                await conn.execute(_EVENTS, (_encode(rows).decode(),))
            finally:
                await conn.set_autocommit(False)

    async def finish(self, response_id: str, response: dict[str, Any]) -> bool:
        """The run's end: the finished ``response`` replaces the body (and its output items
        are kept) with its webhook event, unless it was cancelled or deleted meanwhile."""
        status = str(response.get("status"))
        params = {
            "id": response_id,
            "status": status,
            "body": _encode(response).decode(),
            "output": _encode(response.get("output") or []).decode(),
        }
        async with self._pool.connection() as conn, conn.transaction():
            ended = (await conn.execute(_FINISH, params)).rowcount > 0
            if ended:
                await conn.execute(_OUTPUT, params)
                await self._events.record(conn, f"response.{status}", {"id": response_id})
        return ended

    async def running(self, response_ids: list[str], *, renew: bool) -> set[str]:
        """Which of these are still this worker's to run (not cancelled, deleted or
        requeued); ``renew`` extends their lease."""
        async with self._pool.connection() as conn:
            if renew:
                await conn.execute(_RENEW, (self._settings.background_lease_s, response_ids))
            rows = await (await conn.execute(_RUNNING, (response_ids,))).fetchall()
        return {row[0] for row in rows}


def requeue_expired(conn: Connection[Any], *, settings: ResponsesSettings, namespace: str) -> int:
    """Queue again the responses whose worker stopped renewing its lease (a worker's sweep
    thread, on a blocking connection); returns how many."""
    with conn.transaction():
        ids = [row[0] for row in conn.execute(_REQUEUE)]
        stage_sync(conn, namespace, [_job(settings, response_id) for response_id in ids])
    return len(ids)


def _job(settings: ResponsesSettings, response_id: str) -> Job:
    return Job(settings.background_queue, RUN_ACTOR, (response_id,))
