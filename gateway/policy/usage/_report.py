"""Usage aggregated by key, model and day (UTC) for ``GET /admin/usage``."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, ConfigDict

__all__ = ["GroupBy", "UsageReport", "UsageRow"]

GroupBy = Literal["key", "model", "day"]
_GROUP_COLUMNS: dict[str, str] = {
    "key": "u.key_id",
    "model": "u.model",
    "day": "(u.created_at AT TIME ZONE 'UTC')::date",
}
_ALIASES = {"key": "key_id", "model": "model", "day": "day"}


class UsageRow(BaseModel):
    """Totals for one group; the grouping fields not asked for are ``null``."""

    model_config = ConfigDict(frozen=True)

    key_id: str | None = None
    key_name: str | None = None
    model: str | None = None
    day: date | None = None
    requests: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: float
    avg_latency_ms: float


class UsageReport:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def aggregate(
        self,
        *,
        start: date,
        end: date,
        group_by: tuple[GroupBy, ...] = ("key", "model", "day"),
        key_id: str | None = None,
        model: str | None = None,
    ) -> list[UsageRow]:
        """Totals for ``start`` <= day <= ``end`` (UTC), optionally for one key and/or model."""
        groups = [g for g in ("key", "model", "day") if g in group_by]
        selected = [sql.SQL(f"{_GROUP_COLUMNS[g]} AS {_ALIASES[g]}") for g in groups]
        if "key" in groups:
            selected.append(sql.SQL("max(k.name) AS key_name"))
        conditions = [sql.SQL("u.created_at >= %s AND u.created_at < %s")]
        params: list[Any] = [
            datetime.combine(start, time(), tzinfo=UTC),
            datetime.combine(end + timedelta(days=1), time(), tzinfo=UTC),
        ]
        for column, value in (("u.key_id", key_id), ("u.model", model)):
            if value is not None:
                conditions.append(sql.SQL(f"{column} = %s"))
                params.append(value)
        grouping = (
            sql.SQL("GROUP BY {} ORDER BY {}").format(
                sql.SQL(", ").join(sql.SQL(_GROUP_COLUMNS[g]) for g in groups),
                sql.SQL(", ").join(sql.SQL(_GROUP_COLUMNS[g]) for g in groups),
            )
            if groups
            else sql.SQL("")
        )
        query = sql.SQL(
            "SELECT {selected} count(*) AS requests, "
            "count(*) FILTER (WHERE u.status >= 400) AS errors, "
            "coalesce(sum(u.prompt_tokens), 0) AS prompt_tokens, "
            "coalesce(sum(u.completion_tokens), 0) AS completion_tokens, "
            "coalesce(sum(u.cost_usd), 0)::float8 AS cost_usd, "
            "coalesce(avg(u.latency_ms), 0)::float8 AS avg_latency_ms "
            "FROM usage_events u LEFT JOIN api_keys k ON k.id = u.key_id "
            "WHERE {conditions} {grouping}"
        ).format(
            selected=sql.SQL("").join(sql.Composed([s, sql.SQL(", ")]) for s in selected),
            conditions=sql.SQL(" AND ").join(conditions),
            grouping=grouping,
        )
        async with self._pool.connection() as conn:
            cursor = await conn.cursor(row_factory=dict_row).execute(query, params)
            rows = await cursor.fetchall()
        return [
            UsageRow(**row, total_tokens=row["prompt_tokens"] + row["completion_tokens"])
            for row in rows
            if row["requests"] or groups
        ]
