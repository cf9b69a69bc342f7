"""What a search asks for and what it finds."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from ingestion.search._filters import AttributeFilter

__all__ = ["HybridWeights", "SearchHit", "SearchMode", "SearchRequest"]

SearchMode = Literal["hybrid", "vector", "text"]
MAX_RESULTS = 50


@dataclass(frozen=True, slots=True)
class HybridWeights:
    """One search's weights of reciprocal rank fusion, in place of the configured ones
    (``search.vector_weight`` / ``search.text_weight``): a side weighted 0 is not run."""

    vector: float
    text: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.vector) and math.isfinite(self.text)):
            raise ValueError("hybrid weights must be finite numbers")
        if self.vector < 0 or self.text < 0 or self.vector + self.text <= 0:
            raise ValueError("hybrid weights must be >= 0 and not both 0")


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """One query over one or more stores the caller may read.

    ``store_ids`` must already be checked against the caller's permissions: the search reads
    nothing outside them. ``mode`` picks one side alone (evaluation, debugging); ``hybrid``
    fuses both with the configured weights, or with ``weights`` when given.
    """

    store_ids: tuple[str, ...]
    query: str
    max_num_results: int = 10
    filters: AttributeFilter | None = None
    score_threshold: float = 0.0
    mode: SearchMode = "hybrid"
    weights: HybridWeights | None = None

    def __post_init__(self) -> None:
        if not self.store_ids:
            raise ValueError("a search needs at least one store")
        if not 1 <= self.max_num_results <= MAX_RESULTS:
            raise ValueError(f"max_num_results must be between 1 and {MAX_RESULTS}")
        if not 0.0 <= self.score_threshold <= 1.0:
            raise ValueError("score_threshold must be between 0 and 1")


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One chunk found, with the file it came from and its fused score in [0, 1].

    ``vector_rank`` / ``text_rank`` are its 1-based ranks on each side (None where that side
    did not find it).
    """

    chunk_id: int
    vector_store_id: str
    file_id: str
    filename: str
    chunk_index: int
    content: str
    score: float
    attributes: dict[str, Any] = field(default_factory=dict)
    vector_rank: int | None = None
    text_rank: int | None = None
    page_number: int | None = None
    section: str | None = None
    ocr_confidence: float | None = None
