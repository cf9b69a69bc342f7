"""Usage leaves the request path: a ``RowWriter`` into ``usage_events``.

``record`` only appends to a buffer; batches go to Postgres in the background, are retried
over a Postgres outage and written out at shutdown (see ``gateway.platform.ledger``).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge
from psycopg_pool import AsyncConnectionPool

from configs import UsageSettings
from gateway.platform.ledger import RowWriter, WriterMetrics
from gateway.policy.usage._record import UsageRecord

__all__ = ["UsageRecorder"]

_COLUMNS = (  # the columns of usage_events, in UsageRecord.row's order
    ("event_id", "uuid"),
    ("request_id", "text"),
    ("key_id", "text"),
    ("model", "text"),
    ("deployment", "text"),
    ("endpoint", "text"),
    ("prompt_tokens", "integer"),
    ("completion_tokens", "integer"),
    ("cost_usd", "numeric"),
    ("latency_ms", "double precision"),
    ("status", "smallint"),
    ("streamed", "boolean"),
    ("created_at", "timestamptz"),
    ("tokens_estimated", "boolean"),
)
_METRICS = WriterMetrics(
    written=Counter("ragway_usage_records_written_total", "Usage records written to Postgres."),
    dropped=Counter(
        "ragway_usage_records_dropped_total", "Usage records dropped because the buffer was full."
    ),
    refused=Counter(
        "ragway_usage_records_refused_total",
        "Usage records dropped because Postgres refused their values (data or constraint error).",
    ),
    write_errors=Counter("ragway_usage_write_errors_total", "Failed usage batch writes (retried)."),
    buffered=Gauge("ragway_usage_records_buffered", "Usage records waiting to be written."),
)


class UsageRecorder(RowWriter[UsageRecord]):
    def __init__(self, pool: AsyncConnectionPool, settings: UsageSettings) -> None:
        super().__init__(
            pool,
            settings,
            name="usage-recorder",
            table="usage_events",
            columns=_COLUMNS,
            conflict="event_id",
            row=UsageRecord.row,
            metrics=_METRICS,
        )

    async def close(self, *, timeout_s: float = 30.0) -> None:
        await super().close(timeout_s=timeout_s)
