"""The webhook endpoints and their delivery log, as the admin API reads and changes them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from ingestion.collections import Page, PageRequest, new_id
from ingestion.collections._pages import page_clause, to_page
from ingestion.errors import RecordNotFoundError
from ingestion.webhooks._signing import new_secret

__all__ = ["DeliveryRecord", "EndpointRecord", "WebhookEndpoints"]

_ENDPOINT_COLUMNS = sql.SQL(
    "webhook_endpoints.id, webhook_endpoints.name, webhook_endpoints.url, "
    "webhook_endpoints.event_types, webhook_endpoints.secret, "
    "CASE WHEN webhook_endpoints.previous_secret_until > now() "
    "THEN webhook_endpoints.previous_secret END, webhook_endpoints.enabled, "
    "webhook_endpoints.created_at, webhook_endpoints.updated_at"
)
_INSERT = sql.SQL(
    "INSERT INTO webhook_endpoints (id, name, url, event_types, secret, enabled) "
    "VALUES (%s, %s, %s, %s, %s, %s) RETURNING {columns}"
).format(columns=_ENDPOINT_COLUMNS)
_GET = sql.SQL("SELECT {columns} FROM webhook_endpoints WHERE id = %s").format(
    columns=_ENDPOINT_COLUMNS
)
_DELIVERY_COLUMNS = sql.SQL(
    "webhook_deliveries.id, webhook_deliveries.endpoint_id, webhook_deliveries.event_id, "
    "ev.type, webhook_deliveries.status, webhook_deliveries.attempts, "
    "webhook_deliveries.last_status_code, webhook_deliveries.last_error, "
    "webhook_deliveries.last_attempt_at, webhook_deliveries.next_attempt_at, "
    "webhook_deliveries.delivered_at, webhook_deliveries.created_at, "
    "webhook_deliveries.updated_at"
)
# updated_at moves only when something changed (OpenAI's endpoints behave so)
_UPDATE = sql.SQL("""
UPDATE webhook_endpoints
   SET name = coalesce(%(name)s, name), url = coalesce(%(url)s, url),
       event_types = coalesce(%(types)s, event_types), enabled = coalesce(%(enabled)s, enabled),
       updated_at = CASE WHEN (name, url, event_types, enabled) IS DISTINCT FROM
                              (coalesce(%(name)s, name), coalesce(%(url)s, url),
                               coalesce(%(types)s, event_types), coalesce(%(enabled)s, enabled))
                         THEN now() ELSE updated_at END
 WHERE id = %(id)s
RETURNING {columns}
""").format(columns=_ENDPOINT_COLUMNS)
_ROTATE = sql.SQL("""
UPDATE webhook_endpoints
   SET previous_secret = CASE WHEN %(keep_s)s::float8 > 0 THEN secret END,
       previous_secret_until = CASE WHEN %(keep_s)s::float8 > 0
                                    THEN now() + make_interval(secs => %(keep_s)s::float8) END,
       secret = %(secret)s, updated_at = now()
 WHERE id = %(id)s
RETURNING {columns}
""").format(columns=_ENDPOINT_COLUMNS)


@dataclass(frozen=True, slots=True)
class EndpointRecord:
    id: str
    name: str
    url: str
    event_types: tuple[str, ...]
    secret: str  # never shown but when created or rotated
    previous_secret: str | None  # while a rotation keeps the old secret valid
    enabled: bool
    created_at: datetime
    updated_at: datetime

    @property
    def signing_keys(self) -> tuple[str, ...]:
        """Every secret a delivery is signed with now."""
        return (
            (self.secret,) if self.previous_secret is None else (self.secret, self.previous_secret)
        )


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One event sent to one endpoint: its ``id`` is the ``webhook-id`` of every attempt."""

    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    status: str  # pending, retrying, delivered, failed
    attempts: int
    last_status_code: int | None
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime


def _endpoint(row: Sequence[Any]) -> EndpointRecord:
    endpoint_id, name, url, types, secret, previous, enabled, created, updated = row
    return EndpointRecord(
        endpoint_id, name, url, tuple(types), secret, previous, enabled, created, updated
    )


class WebhookEndpoints:
    """``webhook_endpoints`` and ``webhook_deliveries``; URLs and types arrive checked."""

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool

    async def create(
        self, *, name: str, url: str, event_types: Sequence[str], enabled: bool = True
    ) -> EndpointRecord:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                _INSERT,
                (new_id("whep_"), name, url, list(event_types), new_secret(), enabled),
            )
            row = await cursor.fetchone()
        assert row is not None  # INSERT ... RETURNING
        return _endpoint(row)

    async def get(self, endpoint_id: str) -> EndpointRecord:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(_GET, (endpoint_id,))
            return _endpoint(_found(await cursor.fetchone(), endpoint_id))

    async def list(self, page: PageRequest) -> Page[EndpointRecord]:
        condition, order, params, backwards = page_clause(page, table="webhook_endpoints")
        query = sql.SQL("SELECT {columns} FROM webhook_endpoints WHERE {condition} {order}")
        statement = query.format(columns=_ENDPOINT_COLUMNS, condition=condition, order=order)
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(statement, params)).fetchall()
        return to_page([_endpoint(row) for row in rows], page.limit, backwards)

    async def update(
        self,
        endpoint_id: str,
        *,
        name: str | None = None,
        url: str | None = None,
        event_types: Sequence[str] | None = None,
        enabled: bool | None = None,
    ) -> EndpointRecord:
        params = {
            "id": endpoint_id,
            "name": name,
            "url": url,
            "types": None if event_types is None else list(event_types),
            "enabled": enabled,
        }
        async with self._pool.connection() as conn:
            cursor = await conn.execute(_UPDATE, params)
            return _endpoint(_found(await cursor.fetchone(), endpoint_id))

    async def rotate_secret(self, endpoint_id: str, *, keep_old_for_s: float) -> EndpointRecord:
        """A new secret; the old one also signs deliveries for ``keep_old_for_s`` (0: not)."""
        params = {"id": endpoint_id, "secret": new_secret(), "keep_s": keep_old_for_s}
        async with self._pool.connection() as conn:
            cursor = await conn.execute(_ROTATE, params)
            return _endpoint(_found(await cursor.fetchone(), endpoint_id))

    async def delete(self, endpoint_id: str) -> None:
        """The endpoint and its delivery log."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "DELETE FROM webhook_endpoints WHERE id = %s RETURNING id", (endpoint_id,)
            )
            _found(await cursor.fetchone(), endpoint_id)

    async def deliveries(self, endpoint_id: str, page: PageRequest) -> Page[DeliveryRecord]:
        """The endpoint's deliveries, newest first by default (404 for an unknown endpoint)."""
        await self.get(endpoint_id)
        scope = sql.SQL("c.endpoint_id = %(endpoint)s")
        condition, order, params, backwards = page_clause(
            page, table="webhook_deliveries", scope=scope
        )
        statement = sql.SQL(
            "SELECT {columns} FROM webhook_deliveries "
            "JOIN webhook_events AS ev ON ev.id = webhook_deliveries.event_id "
            "WHERE webhook_deliveries.endpoint_id = %(endpoint)s AND {condition} {order}"
        ).format(columns=_DELIVERY_COLUMNS, condition=condition, order=order)
        async with self._pool.connection() as conn:
            cursor = await conn.execute(statement, {**params, "endpoint": endpoint_id})
            rows = await cursor.fetchall()
        return to_page([DeliveryRecord(*row) for row in rows], page.limit, backwards)


def _found(row: Any, endpoint_id: str) -> Sequence[Any]:
    if row is None:
        raise RecordNotFoundError(f"no webhook endpoint {endpoint_id!r}")
    return row  # type: ignore[no-any-return]
