"""Audit events leave the request path: a ``RowWriter`` into ``audit_events``.

``record`` appends and returns; batches go to Postgres in the background, are retried over a
Postgres outage (inserts are idempotent: ``ON CONFLICT (id) DO NOTHING``) and written out at
shutdown, retrying until ``shutdown_timeout_s`` (see ``gateway.platform.ledger``).
"""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from configs import AuditSettings
from gateway.platform.ledger import RowWriter, WriterMetrics
from gateway.policy.audit import _metrics
from gateway.policy.audit._event import AuditEvent

__all__ = ["AuditWriter"]

_COLUMNS = (  # the columns of audit_events, in _row's order
    ("id", "text"),
    ("created_at", "timestamptz"),
    ("kind", "text"),
    ("key_id", "text"),
    ("request_id", "text"),
    ("model", "text"),
    ("stage", "text"),
    ("subject", "text"),
    ("decision", "text"),
    ("reason", "text"),
    ("arguments_sha256", "text"),
    ("details", "jsonb"),
)
_METRICS = WriterMetrics(
    written=_metrics.AUDIT_WRITTEN,
    dropped=_metrics.AUDIT_DROPPED,
    refused=_metrics.AUDIT_REFUSED,
    write_errors=_metrics.AUDIT_WRITE_ERRORS,
    buffered=_metrics.AUDIT_BUFFERED,
)


def _row(event: AuditEvent) -> tuple[Any, ...]:
    return (
        event.id,
        event.created_at,
        event.kind,
        event.key_id,
        event.request_id,
        event.model,
        event.stage,
        event.subject,
        event.decision,
        event.reason,
        event.arguments_sha256,
        Jsonb(event.details),
    )


class AuditWriter(RowWriter[AuditEvent]):
    """The ``AuditSink`` of a gateway process: ``start`` in the lifespan, ``close`` at its end."""

    def __init__(self, pool: AsyncConnectionPool, settings: AuditSettings) -> None:
        super().__init__(
            pool,
            settings,
            name="audit-writer",
            table="audit_events",
            columns=_COLUMNS,
            conflict="id",
            row=_row,
            metrics=_METRICS,
        )
        self._shutdown_timeout_s = settings.shutdown_timeout_s

    async def close(self, *, timeout_s: float | None = None) -> None:
        """Write the rest, retrying until ``shutdown_timeout_s`` (or ``timeout_s``)."""
        await super().close(timeout_s=self._shutdown_timeout_s if timeout_s is None else timeout_s)
