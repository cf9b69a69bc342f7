"""Token-based chunking: sizes and overlap from the strategy, sections and pages kept apart."""

from __future__ import annotations

import pytest

from ingestion.chunking import ChunkingStrategy, TokenChunker
from ingestion.parsing import Element


@pytest.fixture(scope="module")
def chunker() -> TokenChunker:
    return TokenChunker()


def sentences(prefix: str, count: int) -> str:
    return " ".join(f"{prefix} sentence number {n} talks about topic {n}." for n in range(count))


def test_chunks_respect_the_token_limit_and_overlap(chunker: TokenChunker) -> None:
    elements = [Element(text=sentences("Alpha", 120), kind="NarrativeText")]
    chunks = chunker.chunk(elements, ChunkingStrategy(max_tokens=100, overlap_tokens=20))
    assert len(chunks) > 5
    assert all(c.token_count <= 100 for c in chunks)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    # Overlap: each chunk starts with text the previous one ended with.
    assert chunks[1].text[:30] in chunks[0].text


def test_chunks_never_span_sections_or_pages(chunker: TokenChunker) -> None:
    elements = [
        Element(text="Intro", kind="Title", page_number=1, section="Intro", is_heading=True),
        Element(text=sentences("Intro", 3), kind="NarrativeText", page_number=1, section="Intro"),
        Element(text=sentences("Intro", 2), kind="NarrativeText", page_number=2, section="Intro"),
        Element(text="Results", kind="Title", page_number=2, section="Results", is_heading=True),
        Element(
            text=sentences("Result", 3), kind="NarrativeText", page_number=2, section="Results"
        ),
    ]
    chunks = chunker.chunk(elements, ChunkingStrategy(max_tokens=400, overlap_tokens=0))
    assert [(c.section, c.page_number) for c in chunks] == [
        ("Intro", 1),
        ("Intro", 2),
        ("Results", 2),
    ]
    assert "Result sentence" not in chunks[1].text
    assert chunks[2].text.startswith("Results")


def test_a_strategy_with_too_much_overlap_is_refused() -> None:
    with pytest.raises(ValueError, match="at most half"):
        ChunkingStrategy(max_tokens=100, overlap_tokens=60)
