"""Spend as a Prometheus counter: by model alias and deployment, never by key (the ledger
keeps per-key spend; labels stay bounded by configuration)."""

from __future__ import annotations

from prometheus_client import Counter

__all__ = ["SPEND"]

SPEND = Counter(
    "ragway_spend_usd",
    "USD charged for API requests (the usage ledger's cost_usd), by model alias (unknown: "
    "not a configured alias) and deployment (none: no upstream answered).",
    ["model", "deployment"],
)
