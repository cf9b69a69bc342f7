"""Settings of retrieval: hybrid search (vector + full text, fused) and chat with file_search."""

from __future__ import annotations

import itertools
import math

from pydantic import Field, model_validator

from configs._strict import Strict

__all__ = ["QueryCacheSettings", "RetrievalChatSettings", "RetrievalSettings", "SearchSettings"]

# Chunks in the HNSW index -> the ef_search it needs (read between sizes on a log scale). The
# search benchmark (m 16, ef_construction 128; the corpus shaped like real embeddings;
# docs/performance.md) measured recall@10 against the exact scan of 1.000 at 100k with 64,
# 1.000 at 300k with 160 (0.970 with 100), 0.989 at 500k with 250 (0.939 with 160), and at 1M
# 0.961 and 0.980 with 640 on two builds (0.940 and 0.962 with 500).
EF_SEARCH_BY_SIZE = {100_000: 64, 300_000: 160, 500_000: 250, 1_000_000: 640}


class SearchSettings(Strict):
    """Hybrid search: pgvector HNSW (cosine) and Postgres full text, fused by reciprocal rank.

    Each side contributes ``weight / (rrf_k + rank)`` for every chunk it ranks; a chunk's score
    is the sum, divided by the best possible sum so that scores lie in [0, 1].
    """

    vector_weight: float = Field(default=1.0, ge=0, description="0 turns the vector side off")
    text_weight: float = Field(default=1.0, ge=0, description="0 turns the full-text side off")
    rrf_k: int = Field(default=60, ge=1, description="rank offset of reciprocal rank fusion")
    vector_candidates: int = Field(
        default=40, ge=1, le=1000, description="chunks the vector side ranks (>= the limit)"
    )
    text_candidates: int = Field(
        default=40,
        ge=1,
        le=1000,
        description="chunks the full-text side ranks (at least the limit)",
    )
    text_match_limit: int = Field(
        default=500,
        ge=1,
        description="at most this many chunks matching the query's words are ranked by text",
    )
    text_common_fraction: float = Field(
        default=0.05,
        gt=0,
        le=1,
        description="query words in more than this share of chunks (per ANALYZE statistics) "
        "are left out of the full-text match",
    )
    text_statistics_ttl_s: float = Field(
        default=60.0,
        gt=0,
        description="how long a process keeps those common words before reading them again",
    )
    ef_search: int = Field(
        default=64, ge=1, le=1000, description="HNSW hnsw.ef_search; raised for filtered searches"
    )
    ef_search_by_size: dict[int, int] = Field(
        default_factory=lambda: dict(EF_SEARCH_BY_SIZE),
        description="chunks in the index -> the ef_search it needs, read between two sizes on "
        "a log scale: a larger HNSW graph needs a wider search for the same recall (measured "
        "in docs/performance.md)",
    )
    exact_scan_max_chunks: int = Field(
        default=10_000,
        ge=0,
        description="searches whose stores and filters leave at most this many chunks skip "
        "the index and compare every one (exact and fast for small sets)",
    )
    overfetch_factor: float = Field(
        default=2.0,
        ge=1.0,
        description="filtered searches raise ef_search to candidates / selectivity * this",
    )
    max_scan_tuples: int = Field(
        default=20_000,
        ge=1,
        description="pgvector >= 0.8 only: hnsw.max_scan_tuples of an iterative filtered scan",
    )
    text_search_config: str = Field(
        default="english",
        pattern=r"^[a-z_]+$",
        description="Postgres text search configuration; must be the one chunks are indexed with",
    )

    @model_validator(mode="after")
    def _one_side_on(self) -> SearchSettings:
        if self.vector_weight == 0 and self.text_weight == 0:
            raise ValueError("vector_weight and text_weight cannot both be 0")
        return self

    @model_validator(mode="after")
    def _steps_in_range(self) -> SearchSettings:
        for size, ef in self.ef_search_by_size.items():
            if size < 0 or not 1 <= ef <= 1000:
                raise ValueError(
                    "ef_search_by_size maps a chunk count (>= 0) to an ef_search of 1-1000"
                )
        return self

    def ef_search_for(self, indexed_chunks: int) -> int:
        """The ef_search a search of an index of ``indexed_chunks`` starts from.

        ``ef_search`` raised to the width ``ef_search_by_size`` gives at that size: between two
        of its sizes, read on a log scale of the size (chunk counts are estimates, and recall
        falls with the graph's depth, ~log of its size); from its largest size up, that size's.
        A larger index never gets less than a smaller one's width.
        """
        points = sorted(self.ef_search_by_size.items())
        needed = max((ef for size, ef in points if size <= indexed_chunks), default=0)
        for (low, low_ef), (high, high_ef) in itertools.pairwise(points):
            if 0 < low <= indexed_chunks < high:
                share = math.log(indexed_chunks / low) / math.log(high / low)
                needed = max(needed, round(low_ef + share * (high_ef - low_ef)))
        return max(self.ef_search, needed)


class QueryCacheSettings(Strict):
    """Query embeddings kept briefly per text, so repeated questions skip the embedder."""

    max_entries: int = Field(default=1024, ge=0, description="0 turns the cache off")
    ttl_s: float = Field(default=300.0, gt=0)


class RetrievalChatSettings(Strict):
    """``file_search`` tools in chat completions: how passages are fitted and cited."""

    max_num_results: int = Field(
        default=8, ge=1, le=50, description="passages per request when the tool sets none"
    )
    default_context_window: int = Field(
        default=8192, ge=256, description="tokens, for deployments without context_window"
    )
    reserve_completion_tokens: int = Field(
        default=1024, ge=0, description="left for the answer when the request sets no max_tokens"
    )
    chars_per_token: float = Field(default=4.0, gt=0, description="token estimate of passages")


class RetrievalSettings(Strict):
    """Hybrid search, its query cache and chat retrieval."""

    search: SearchSettings = SearchSettings()
    query_cache: QueryCacheSettings = QueryCacheSettings()
    chat: RetrievalChatSettings = RetrievalChatSettings()
