"""Prometheus metrics of the quota step (process-wide, like every prometheus_client metric)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

__all__ = [
    "DECISIONS",
    "REDIS_AVAILABLE",
    "REDIS_ERRORS",
    "SETTLE_FAILURES",
    "SPEND_SEEDS",
    "STREAMS_ENDED",
]

DECISIONS = Counter(
    "ragway_quota_decisions_total",
    "Quota decisions by store (redis, local fallback, none: a key without limits) and result "
    "(allowed, unlimited, or the limit hit).",
    ["store", "result"],
)
REDIS_AVAILABLE = Gauge(
    "ragway_quota_redis_available",
    "1 while quotas are counted in Redis; 0 while this process runs on its fallback.",
)
REDIS_ERRORS = Counter(
    "ragway_quota_redis_errors_total", "Quota operations that failed because Redis did not answer."
)
SETTLE_FAILURES = Counter(
    "ragway_quota_settlements_lost_total",
    "Reservations whose real usage could not be applied (Redis unreachable at settle time).",
)
SPEND_SEEDS = Counter(
    "ragway_quota_spend_seeds_total",
    "Monthly spend counters found missing in Redis and seeded from the usage ledger, by result "
    "(seeded; raced: another process seeded first; failed: the ledger did not answer).",
    ["result"],
)
STREAMS_ENDED = Counter(
    "ragway_quota_streams_ended_total",
    "Streams ended early (finish_reason length) because the key's allowance was used up, by "
    "allowance (budget; tokens: tpm or tokens per day, for streams without max_tokens).",
    ["allowance"],
)
