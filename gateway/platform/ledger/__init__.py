"""Append-only rows (usage, audit) leave the request path: buffered, then written in batches."""

from __future__ import annotations

from gateway.platform.ledger._writer import BatchSettings, RowWriter, WriterMetrics

__all__ = ["BatchSettings", "RowWriter", "WriterMetrics"]
