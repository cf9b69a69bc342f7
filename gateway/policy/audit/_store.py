"""Reading the audit trail back: newest first, filtered, paged by a cursor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from gateway.platform.errors import InvalidRequestError

__all__ = ["AuditPage", "AuditQuery", "AuditStore"]

_SELECT = sql.SQL(
    "SELECT id, created_at, kind, key_id, request_id, model, stage, subject, decision, "
    "reason, arguments_sha256, details FROM audit_events"
)


@dataclass(frozen=True, slots=True)
class AuditQuery:
    kind: str | None = None
    key_id: str | None = None
    subject: str | None = None
    decision: str | None = None
    since: datetime | None = None
    before: str | None = None  # the cursor of the previous page
    limit: int = 100
    until: datetime | None = None  # events before this moment (exclusive)


@dataclass(frozen=True, slots=True)
class AuditPage:
    events: list[dict[str, Any]]
    next_before: str | None


class AuditStore:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def list(self, query: AuditQuery) -> AuditPage:
        where: list[sql.Composable] = []
        args: list[Any] = []
        for column in ("kind", "key_id", "subject", "decision"):
            value = getattr(query, column)
            if value is not None:
                where.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
                args.append(value)
        if query.since is not None:
            where.append(sql.SQL("created_at >= %s"))
            args.append(query.since)
        if query.until is not None:
            where.append(sql.SQL("created_at < %s"))
            args.append(query.until)
        if query.before is not None:
            where.append(sql.SQL("(created_at, id) < (%s, %s)"))
            args.extend(_cursor(query.before))
        statement: sql.Composable = _SELECT
        if where:
            statement = sql.SQL("{} WHERE {}").format(statement, sql.SQL(" AND ").join(where))
        statement = sql.SQL("{} ORDER BY created_at DESC, id DESC LIMIT %s").format(statement)
        args.append(query.limit + 1)
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cursor:
            await cursor.execute(statement, args)
            rows = await cursor.fetchall()
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        events = [{**row, "created_at": row["created_at"].isoformat()} for row in rows]
        next_before = f"{events[-1]['created_at']}|{events[-1]['id']}" if more else None
        return AuditPage(events, next_before)


def _cursor(value: str) -> tuple[datetime, str]:
    created, _, event_id = value.partition("|")
    try:
        return datetime.fromisoformat(created), event_id
    except ValueError as exc:
        raise InvalidRequestError(
            "'before' is not a cursor this API returned", param="before"
        ) from exc
