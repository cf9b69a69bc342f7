"""The chunking stage's interface and value types."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ingestion.parsing import Cancelled, Element

__all__ = ["Chunk", "Chunker", "ChunkingStrategy"]


@dataclass(frozen=True, slots=True)
class ChunkingStrategy:
    """Sizes in tokens, as OpenAI's ``static`` chunking strategy states them."""

    max_tokens: int
    overlap_tokens: int

    def __post_init__(self) -> None:
        if self.max_tokens < 1 or self.overlap_tokens < 0:
            raise ValueError("chunk sizes must be positive")
        if self.overlap_tokens * 2 > self.max_tokens:
            raise ValueError("the overlap may be at most half the chunk size")


@dataclass(frozen=True, slots=True)
class Chunk:
    """A searchable piece of a document; ``index`` orders a file's chunks from 0.

    ``ocr_confidence``: the mean word confidence (0-100) of text read by OCR; None otherwise.
    """

    index: int
    text: str
    token_count: int
    page_number: int | None
    section: str | None
    ocr_confidence: float | None = None


class Chunker(Protocol):
    """Elements to chunks; asks ``cancelled`` now and then (``WorkCancelledError``)."""

    def chunk(
        self,
        elements: Sequence[Element],
        strategy: ChunkingStrategy,
        *,
        cancelled: Cancelled | None = None,
    ) -> list[Chunk]: ...
