"""Prometheus metrics of the audit writer (process-wide)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

__all__ = [
    "AUDIT_BUFFERED",
    "AUDIT_DROPPED",
    "AUDIT_REFUSED",
    "AUDIT_WRITE_ERRORS",
    "AUDIT_WRITTEN",
]

AUDIT_WRITTEN = Counter("ragway_audit_events_written_total", "Audit events written to Postgres.")
AUDIT_DROPPED = Counter(
    "ragway_audit_events_dropped_total", "Audit events dropped because the buffer was full."
)
AUDIT_REFUSED = Counter(
    "ragway_audit_events_refused_total",
    "Audit events dropped because Postgres refused their values (data or constraint error).",
)
AUDIT_WRITE_ERRORS = Counter(
    "ragway_audit_write_errors_total", "Failed audit batch writes (the events are retried)."
)
AUDIT_BUFFERED = Gauge("ragway_audit_events_buffered", "Audit events waiting to be written.")
