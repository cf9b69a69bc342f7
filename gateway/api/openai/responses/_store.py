"""Stored responses (``store: true``): what GET, DELETE, input_items and chains read back.

One row per response (the object exactly as the client received it) and one per item, a
response's input items then its output items in one ``position`` sequence, so that a chain,
a page of input items and a deletion are each one SQL statement. A response is visible to
the key that made it (and to admins) until ``retention_days`` after it was stored; expired
rows are purged a few hundred at a time, at most once a minute per process, by ``save``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import msgspec
import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from configs import ResponsesSettings
from gateway.api.openai.responses._writer import GroupWriter
from gateway.platform.errors import InvalidRequestError, database_unavailable
from gateway.policy.auth import Principal
from ingestion.collections import Page, PageRequest

_encode = msgspec.json.Encoder().encode

__all__ = ["ResponseStore"]

_log = logging.getLogger(__name__)

PURGE_INTERVAL_S = 60.0
_VISIBLE = "r.expires_at > now() AND (%(admin)s OR r.key_id = %(key)s)"
# One statement, one round trip, one transaction: responses and their items (the items'
# foreign key is checked at its end); several concurrent saves share it (``GroupWriter``).
# ``relaxed`` (responses.synchronous_commit off) lets it commit without waiting for the WAL
# flush. The bodies come as json text and stay exactly as sent.
_SAVE = """
WITH relaxed AS (
    SELECT set_config('synchronous_commit', 'off', true) WHERE %(relaxed)s
), batch AS (
    SELECT * FROM json_to_recordset(%(batch)s::json)
        AS b (id text, key text, previous text, body json, inputs integer, items json)
), saved AS (
    INSERT INTO responses (id, key_id, previous_response_id, expires_at, body)
    SELECT b.id, b.key, b.previous, now() + make_interval(days => %(days)s), b.body
      FROM batch AS b
    RETURNING id
)
INSERT INTO response_items (response_id, position, kind, item_id, item)
SELECT saved.id, t.n - 1, CASE WHEN t.n <= b.inputs THEN 'input' ELSE 'output' END,
       t.item ->> 'id', t.item
  FROM saved
  JOIN batch AS b ON b.id = saved.id
  LEFT JOIN relaxed ON true
 CROSS JOIN LATERAL json_array_elements(b.items) WITH ORDINALITY AS t (item, n)
"""
# ``status`` is set for background responses only: it is ahead of the body while they run.
_GET = f"SELECT r.body, r.status FROM responses AS r WHERE r.id = %(id)s AND {_VISIBLE}"  # noqa: S608
# The chain newest first, walked while links are visible; a marker row (depth -1) says the
# head is. Items come newest first so that LIMIT stops at the first item over the limit.
_CHAIN = f"""
WITH RECURSIVE chain (id, previous_response_id, depth) AS (
    SELECT r.id, r.previous_response_id, 0 FROM responses AS r
     WHERE r.id = %(id)s AND {_VISIBLE}
  UNION ALL
    SELECT r.id, r.previous_response_id, c.depth + 1
      FROM chain AS c JOIN responses AS r ON r.id = c.previous_response_id
     WHERE c.depth < %(max_depth)s AND {_VISIBLE}
)
SELECT -1 AS depth, -1 AS position, NULL::json AS item FROM chain WHERE chain.depth = 0
UNION ALL
SELECT c.depth, i.position, i.item
  FROM chain AS c JOIN response_items AS i ON i.response_id = c.id
ORDER BY depth, position DESC
LIMIT %(limit)s
"""  # noqa: S608 - fixed text
# (visible, position of the cursor item among the input items or NULL)
_CURSOR = f"""
SELECT (SELECT i.position FROM response_items AS i
         WHERE i.response_id = r.id AND i.kind = 'input' AND i.item_id = %(cursor)s
         ORDER BY i.position LIMIT 1)
  FROM responses AS r WHERE r.id = %(id)s AND {_VISIBLE}
"""  # noqa: S608 - fixed text
_DELETE = f"DELETE FROM responses AS r WHERE r.id = %(id)s AND {_VISIBLE}"  # noqa: S608 - fixed text
_PURGE = """
DELETE FROM responses WHERE id IN (
    SELECT id FROM responses WHERE expires_at <= now()
     ORDER BY expires_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
)
"""


class ResponseStore:
    """Responses kept for ``settings.retention_days``, readable by the key that made them."""

    def __init__(
        self,
        pool: AsyncConnectionPool,
        settings: ResponsesSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pool = pool
        self._settings = settings
        self._clock = clock
        self._next_purge = clock()
        self._writer = GroupWriter(self._write)

    async def save(
        self, response: dict[str, Any], *, input_items: list[dict[str, Any]], key_id: str | None
    ) -> None:
        """Keep a finished response (the whole object as sent) and its own input items.

        ``input_items`` and ``response["output"]`` items each carry an ``id``. The response
        expires after ``settings.retention_days``.
        """
        output: list[dict[str, Any]] = response.get("output") or []
        row = {
            "id": response["id"],
            "key": key_id,
            "previous": response.get("previous_response_id"),
            # encoded now (the caller's dicts may change once it has its answer), embedded
            # as they are in the batch's JSON
            "body": msgspec.Raw(_encode(response)),
            "inputs": len(input_items),
            "items": msgspec.Raw(_encode([*input_items, *output])),
        }
        await self._writer.put(row)

    async def _write(self, rows: list[dict[str, Any]]) -> None:
        """One statement for the responses of ``rows`` (``GroupWriter``'s batches)."""
        params = {
            "batch": _encode(rows).decode(),
            "days": self._settings.retention_days,
            "relaxed": not self._settings.synchronous_commit,
        }
        try:
            async with self._pool.connection() as conn:
                await conn.set_autocommit(True)  # the statement is its own transaction
                try:
                    await conn.execute(_SAVE, params)
                finally:
                    await conn.set_autocommit(False)
                if self._clock() >= self._next_purge:
                    self._next_purge = self._clock() + PURGE_INTERVAL_S
                    await self._purge_quietly(conn)
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise database_unavailable(exc) from exc

    async def get(self, response_id: str, *, principal: Principal) -> dict[str, Any] | None:
        """The response object; None when missing, expired, or made by another key."""
        try:
            async with self._pool.connection() as conn:
                row = await (await conn.execute(_GET, _visible(response_id, principal))).fetchone()
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise database_unavailable(exc) from exc
        if row is None:
            return None
        body: dict[str, Any] = row[0]
        if row[1] is not None:
            body["status"] = row[1]
        return body

    async def conversation(
        self, response_id: str, *, principal: Principal
    ) -> list[dict[str, Any]] | None:
        """The items of the chain ending at ``response_id``, oldest response first.

        Each response gives its input items then its output items. A link that is missing,
        expired, deleted or another key's ends the walk. None when ``response_id`` itself is
        not visible; more than ``max_conversation_items`` items is a 400.
        """
        limit = self._settings.max_conversation_items
        params = {**_visible(response_id, principal), "max_depth": limit, "limit": limit + 2}
        try:
            async with self._pool.connection() as conn:
                rows = await (await conn.execute(_CHAIN, params)).fetchall()
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise database_unavailable(exc) from exc
        if not rows:
            return None
        items: list[dict[str, Any]] = [item for depth, _, item in rows if depth >= 0]
        if len(items) > limit:
            raise InvalidRequestError(
                f"the conversation before this response holds more than {limit} items "
                "(responses.max_conversation_items); start a new one",
                param="previous_response_id",
                code="conversation_too_long",
            )
        items.reverse()
        return items

    async def input_items(
        self, response_id: str, *, principal: Principal, page: PageRequest
    ) -> Page[dict[str, Any]] | None:
        """This response's own input items, paged by item id (``asc`` is input order).

        None when the response is not visible; an ``after`` / ``before`` that is not one of
        its input items is a 400.
        """
        backwards = page.before is not None and page.after is None
        cursor = page.after if page.after is not None else page.before
        # Walking towards lower positions: desc order, unless ``before`` turns it around.
        descending = (page.order == "desc") != backwards
        visible = {**_visible(response_id, principal), "cursor": cursor}
        try:
            async with self._pool.connection() as conn:
                found = await (await conn.execute(_CURSOR, visible)).fetchone()
                if found is None:
                    return None
                position = found[0]
                if cursor is not None and position is None:
                    which = "after" if page.after is not None else "before"
                    raise InvalidRequestError(
                        f"'{cursor}' is not an input item of response '{response_id}'",
                        param=which,
                    )
                rows = await (
                    await conn.execute(
                        _page_query(descending=descending, from_cursor=position is not None),
                        {"id": response_id, "position": position, "limit": page.limit + 1},
                    )
                ).fetchall()
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise database_unavailable(exc) from exc
        items: list[dict[str, Any]] = [row[0] for row in rows[: page.limit]]
        if backwards:
            items.reverse()
        return Page(items=items, has_more=len(rows) > page.limit)

    async def delete(self, response_id: str, *, principal: Principal) -> bool:
        """Remove the response and its items (cascade); False when it is not visible."""
        try:
            async with self._pool.connection() as conn:
                cursor = await conn.execute(_DELETE, _visible(response_id, principal))
                return cursor.rowcount > 0
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise database_unavailable(exc) from exc

    async def purge_expired(self, *, limit: int = 500) -> int:
        """Delete up to ``limit`` expired responses (and their items); returns how many."""
        try:
            async with self._pool.connection() as conn:
                return await self._purge_on(conn, limit)
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise database_unavailable(exc) from exc

    async def _purge_on(self, conn: psycopg.AsyncConnection[Any], limit: int) -> int:
        async with conn.transaction():
            cursor = await conn.execute(_PURGE, {"limit": limit})
        return cursor.rowcount

    async def _purge_quietly(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """The purge ``save`` runs on the side: its row is stored, so a failure only waits."""
        try:
            await self._purge_on(conn, 500)
        except psycopg.Error as exc:
            _log.warning("purge of expired responses failed", extra={"error": repr(exc)})


def _page_query(*, descending: bool, from_cursor: bool) -> sql.Composed:
    """Input items after the cursor position in the walking direction, one extra for has_more."""
    return sql.SQL(
        "SELECT item FROM response_items WHERE response_id = %(id)s AND kind = 'input' "
        "AND {cursor} ORDER BY position {direction} LIMIT %(limit)s"
    ).format(
        cursor=sql.SQL(
            "TRUE"
            if not from_cursor
            else "position < %(position)s"
            if descending
            else "position > %(position)s"
        ),
        direction=sql.SQL("DESC" if descending else "ASC"),
    )


def _visible(response_id: str, principal: Principal) -> dict[str, Any]:
    return {"id": response_id, "key": principal.key_id, "admin": principal.is_admin}
