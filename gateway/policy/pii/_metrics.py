"""Prometheus metrics of the PII step (process-wide, like every prometheus_client metric)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

__all__ = ["BLOCKED", "ENTITIES", "SECONDS"]

ENTITIES = Counter(
    "ragway_pii_entities_total",
    "Personal data found in outgoing text, by entity type and the action taken.",
    ["entity", "action"],
)
BLOCKED = Counter(
    "ragway_pii_blocked_requests_total", "Requests refused because their policy blocks an entity."
)
SECONDS = Histogram(
    "ragway_pii_seconds",
    "Time the PII step spent on a request's outgoing text.",
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5),
)
