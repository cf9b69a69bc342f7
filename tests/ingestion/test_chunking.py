"""Token-based chunking: sizes and overlap from the strategy, sections and pages kept apart."""

from __future__ import annotations

import random
import string
import time

import pytest

from ingestion.chunking import ChunkingStrategy, TokenChunker
from ingestion.errors import DocumentRejectedError, WorkCancelledError
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


def no_whitespace(n: int) -> str:
    """``n`` characters of letters and digits, one "word" (as a minified or base64 file)."""
    rng = random.Random(7)
    return "".join(rng.choices(string.ascii_letters + string.digits, k=n))


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(no_whitespace(4_000_000), id="no-whitespace"),
        pytest.param("a " * 2_000_000, id="one-letter-words"),
        pytest.param("a." * 2_000_000, id="dots-without-spaces"),
        pytest.param("a. " * 1_400_000, id="one-letter-sentences"),
        pytest.param("\n\n".join(["x"] * 1_000_000), id="one-letter-paragraphs"),
        pytest.param("日本語の文章です。" * 400_000, id="cjk-sentences"),
    ],
)
def test_pathological_text_chunks_in_linear_time(chunker: TokenChunker, text: str) -> None:
    """Once 9-30 s for each of these (a tokenizer call per character, word or paragraph;
    minutes for 40 MB), or nltk's TimeoutError."""
    strategy = ChunkingStrategy(max_tokens=200, overlap_tokens=0)
    started = time.monotonic()
    chunks = chunker.chunk([Element(text=text, kind="NarrativeText")], strategy)
    elapsed = time.monotonic() - started
    assert elapsed < 5, f"{len(text)} characters took {elapsed:.1f} s"
    assert all(0 < c.token_count <= 200 for c in chunks)
    assert max(c.token_count for c in chunks) > 100  # packed, not one piece per chunk
    squeezed = "".join(text.split())
    assert "".join("".join(c.text.split()) for c in chunks) == squeezed


def test_chunking_over_its_time_limit_fails_the_document() -> None:
    chunker = TokenChunker(time_limit_s=0.3)
    started = time.monotonic()
    with pytest.raises(DocumentRejectedError) as caught:
        chunker.chunk(
            [Element(text=no_whitespace(1_000_000) * 20, kind="NarrativeText")],
            ChunkingStrategy(max_tokens=200, overlap_tokens=40),
        )
    assert time.monotonic() - started < 1
    assert caught.value.code == "invalid_file"
    assert caught.value.message == (
        "chunking took longer than 0.3 s (ingestion.chunking.time_limit_s)"
    )


def test_chunking_stops_when_the_file_is_no_longer_wanted(chunker: TokenChunker) -> None:
    started = time.monotonic()
    with pytest.raises(WorkCancelledError):
        chunker.chunk(
            [Element(text=no_whitespace(1_000_000) * 20, kind="NarrativeText")],
            ChunkingStrategy(max_tokens=200, overlap_tokens=40),
            cancelled=lambda: True,
        )
    assert time.monotonic() - started < 1.5
