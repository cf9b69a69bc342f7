"""Prometheus metrics of the tool checks and the audit trail (process-wide)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

__all__ = [
    "AUDIT_BUFFERED",
    "AUDIT_DROPPED",
    "AUDIT_WRITE_ERRORS",
    "AUDIT_WRITTEN",
    "TOOL_DECISIONS",
]

TOOL_DECISIONS = Counter(
    "ragway_tool_decisions_total",
    "Tool decisions by stage (request, response), decision and reason.",
    ["stage", "decision", "reason"],
)
AUDIT_WRITTEN = Counter("ragway_audit_events_written_total", "Audit events written to Postgres.")
AUDIT_DROPPED = Counter(
    "ragway_audit_events_dropped_total", "Audit events dropped because the buffer was full."
)
AUDIT_WRITE_ERRORS = Counter(
    "ragway_audit_write_errors_total", "Failed audit batch writes (the events are retried)."
)
AUDIT_BUFFERED = Gauge("ragway_audit_events_buffered", "Audit events waiting to be written.")
