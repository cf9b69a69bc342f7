"""The search latency histogram, on the default registry of the process that searches (the
gateway: vector store search and chat's file_search)."""

from __future__ import annotations

from prometheus_client import Histogram

__all__ = ["SEARCH_SECONDS"]

SEARCH_SECONDS = Histogram(
    "ragway_search_duration_seconds",
    "One hybrid search over vector stores (embedding the query included), by mode.",
    ["mode"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
