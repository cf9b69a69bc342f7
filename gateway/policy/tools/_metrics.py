"""Prometheus metrics of the tool checks (process-wide)."""

from __future__ import annotations

from prometheus_client import Counter

__all__ = ["TOOL_DECISIONS"]

TOOL_DECISIONS = Counter(
    "ragway_tool_decisions_total",
    "Tool decisions by stage (request, response), decision and reason.",
    ["stage", "decision", "reason"],
)
