"""Hybrid search over vector stores: pgvector HNSW and Postgres full text, fused by rank."""

from __future__ import annotations

from ingestion.search._cache import QueryEmbedder
from ingestion.search._filters import (
    AttributeFilter,
    Comparison,
    CompiledFilter,
    Compound,
    compile_filter,
    parse_filter,
)
from ingestion.search._searcher import HybridSearcher, QueryVectors, SearchPlan
from ingestion.search._types import HybridWeights, SearchHit, SearchMode, SearchRequest

__all__ = [
    "AttributeFilter",
    "Comparison",
    "CompiledFilter",
    "Compound",
    "HybridSearcher",
    "HybridWeights",
    "QueryEmbedder",
    "QueryVectors",
    "SearchHit",
    "SearchMode",
    "SearchPlan",
    "SearchRequest",
    "compile_filter",
    "parse_filter",
]
