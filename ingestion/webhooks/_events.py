"""Recording events: the event, one delivery per subscribed endpoint, and their jobs.

Call :meth:`WebhookEvents.record` (``record_sync`` on a blocking connection) inside the
transaction of the state change the event reports, so the event exists exactly when the
change committed, and its deliveries are on their way through the outbox then too::

    async with pool.connection() as conn, conn.transaction():
        ...  # the response row becomes 'completed'
        await events.record(conn, "response.completed", {"id": response_id})

``data`` is the event's ``data`` object; OpenAI's events carry the object's id and the
receiver fetches the object. Nothing is written when no enabled endpoint subscribes to the
type (one statement either way).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from psycopg import AsyncConnection, Connection
from psycopg.types.json import Jsonb

from configs import Settings
from ingestion.collections import new_id
from ingestion.queue import Job, stage, stage_sync

__all__ = ["DELIVER_ACTOR", "EVENT_TYPES", "WebhookEvents", "event_body"]

DELIVER_ACTOR = "deliver_webhook"

EVENT_TYPES: tuple[str, ...] = (
    "vector_store.file.completed",  # data: {"id": file id, "vector_store_id": store id}
    "vector_store.file.failed",  # data: as completed; the file's last_error says why
    "response.completed",  # data: {"id": response id} (OpenAI's shape, as below)
    "response.failed",
    "response.cancelled",
    "response.incomplete",
    "batch.completed",  # data: {"id": batch id}
    "batch.failed",
    "batch.cancelled",
    "batch.expired",
)

_RECORD = """
WITH targets AS (
    SELECT id FROM webhook_endpoints WHERE enabled AND event_types @> ARRAY[%(type)s]
), event AS (
    INSERT INTO webhook_events (id, type, data)
    SELECT %(event)s, %(type)s, %(data)s WHERE EXISTS (SELECT 1 FROM targets)
    RETURNING id
)
INSERT INTO webhook_deliveries (id, endpoint_id, event_id, next_attempt_at)
SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), targets.id, event.id, now()
  FROM targets, event
RETURNING id
"""


@dataclass(frozen=True, slots=True)
class WebhookEvents:
    """Records events for the broker ``namespace``; deliveries run on ``queue``."""

    namespace: str
    queue: str

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookEvents:
        return cls(namespace=settings.worker.namespace, queue=settings.webhooks.queue)

    async def record(
        self, conn: AsyncConnection[Any], event_type: str, data: Mapping[str, Any]
    ) -> list[str]:
        """Record the event in ``conn``'s transaction; returns the deliveries' ids."""
        async with conn.cursor() as cursor:
            await cursor.execute(_RECORD, _params(event_type, data))
            deliveries = [row[0] for row in await cursor.fetchall()]
        await stage(conn, self.namespace, self._jobs(deliveries))
        return deliveries

    def record_sync(
        self, conn: Connection[Any], event_type: str, data: Mapping[str, Any]
    ) -> list[str]:
        """:meth:`record` on a blocking connection (worker threads)."""
        deliveries = [row[0] for row in conn.execute(_RECORD, _params(event_type, data))]
        stage_sync(conn, self.namespace, self._jobs(deliveries))
        return deliveries

    def store_file_finished(
        self,
        conn: Connection[Any],
        store_id: str,
        file_id: str,
        status: Literal["completed", "failed"],
    ) -> None:
        """``vector_store.file.completed`` / ``.failed`` for a file in a store."""
        data = {"id": file_id, "vector_store_id": store_id}
        self.record_sync(conn, f"vector_store.file.{status}", data)

    def _jobs(self, deliveries: list[str]) -> list[Job]:
        return [Job(self.queue, DELIVER_ACTOR, (delivery,)) for delivery in deliveries]


def _params(event_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
    if event_type not in EVENT_TYPES:
        raise ValueError(f"not a webhook event type: {event_type!r}")
    return {"event": new_id("evt_"), "type": event_type, "data": Jsonb(dict(data))}


def event_body(event_id: str, event_type: str, created_at: datetime, data: Any) -> bytes:
    """The JSON a delivery carries, in OpenAI's event shape (the same bytes every attempt)."""
    payload = {
        "id": event_id,
        "object": "event",
        "created_at": int(created_at.timestamp()),
        "type": event_type,
        "data": data,
    }
    return json.dumps(payload, separators=(",", ":")).encode()
