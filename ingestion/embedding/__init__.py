"""Embedding: chunk texts to vectors in batches with an injected ``Embedder``."""

from __future__ import annotations

from ingestion.embedding._batched import BatchEmbedder
from ingestion.embedding._lazy import LazyEmbedder

__all__ = ["BatchEmbedder", "LazyEmbedder"]
