"""Token-based chunking, one section (and page) at a time, under a time limit.

Chunks never span two sections or two pages (so a chunk's page number is exact), and every
chunk of a table starts with its header row (``Element.header``); inside one
elements are joined by blank lines, which the splitter prefers as split points, so element
boundaries are kept where sizes allow.
Tokens are OpenAI's cl100k (``max_chunk_size_tokens`` means what it means at OpenAI), from
the encoding llama-index bundles, so nothing is downloaded.
"""

from __future__ import annotations

import bisect
import itertools
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from ingestion.chunking._base import Chunk, ChunkingStrategy
from ingestion.chunking._splitter import split_text
from ingestion.errors import DocumentRejectedError, WorkCancelledError
from ingestion.parsing import Cancelled, Element

__all__ = ["TokenChunker"]

_SEPARATOR = "\n\n"
_CANCEL_CHECK_S = 1.0


class TokenChunker:
    """Chunks by cl100k tokens; the tokenizer (llama-index's bundled one) loads on the first
    call. A document chunking longer than ``time_limit_s`` fails as ``invalid_file``."""

    def __init__(self, *, time_limit_s: float | None = None) -> None:
        self._time_limit_s = time_limit_s
        self._tokenizer: Callable[[str], list[Any]] | None = None
        self._lock = threading.Lock()

    def chunk(
        self,
        elements: Sequence[Element],
        strategy: ChunkingStrategy,
        *,
        cancelled: Cancelled | None = None,
    ) -> list[Chunk]:
        tokenize = self._tokenize

        def count(text: str) -> int:
            return len(tokenize(text))

        tick = _Guard(self._time_limit_s, cancelled)
        chunks: list[Chunk] = []
        for (section, _page, header), group in itertools.groupby(
            elements, key=lambda e: (e.section, e.page_number, e.header)
        ):
            members = list(group)
            text, starts = _join(members)
            prefix, prefix_tokens = _repeated_header(header, strategy, count)
            budget = strategy.max_tokens - prefix_tokens
            for span in split_text(
                text,
                max_tokens=budget,
                overlap_tokens=min(strategy.overlap_tokens, budget // 2),
                count=count,
                tick=tick,
            ):
                owner = members[max(0, bisect.bisect_right(starts, span.start) - 1)]
                chunks.append(
                    Chunk(
                        index=len(chunks),
                        text=prefix + text[span.start : span.end],
                        token_count=prefix_tokens + span.tokens,
                        page_number=owner.page_number,
                        section=section,
                        ocr_confidence=_ocr_confidence(members, starts, span.start, span.end),
                    )
                )
        return chunks

    @property
    def _tokenize(self) -> Callable[[str], list[Any]]:
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    from llama_index.core.utils import get_tokenizer

                    self._tokenizer = get_tokenizer()
        return self._tokenizer


class _Guard:
    """Called between chunking steps: raises past the time limit, or when the file is no
    longer wanted (asked at most once a second)."""

    def __init__(self, time_limit_s: float | None, cancelled: Cancelled | None) -> None:
        now = time.monotonic()
        self._limit = time_limit_s
        self._deadline = None if time_limit_s is None else now + time_limit_s
        self._cancelled = cancelled
        self._next_ask = now + _CANCEL_CHECK_S

    def __call__(self) -> None:
        now = time.monotonic()
        if self._deadline is not None and now > self._deadline:
            raise DocumentRejectedError(
                "invalid_file",
                f"chunking took longer than {self._limit:g} s (ingestion.chunking.time_limit_s)",
            )
        if self._cancelled is not None and now >= self._next_ask:
            self._next_ask = now + _CANCEL_CHECK_S
            if self._cancelled():
                raise WorkCancelledError("stopped chunking: the file is no longer wanted")


def _repeated_header(
    header: str | None, strategy: ChunkingStrategy, count: Callable[[str], int]
) -> tuple[str, int]:
    """The text put before each chunk of a group with a ``header`` (a table's header row)
    and its tokens; none when the header would take more than half of a chunk."""
    if not header:
        return "", 0
    prefix = header + "\n"
    tokens = count(prefix)
    if tokens * 2 > strategy.max_tokens:
        return "", 0
    return prefix, tokens


def _join(elements: list[Element]) -> tuple[str, list[int]]:
    starts: list[int] = []
    length = 0
    for element in elements:
        starts.append(length)
        length += len(element.text) + len(_SEPARATOR)
    return _SEPARATOR.join(e.text for e in elements), starts


def _ocr_confidence(
    members: list[Element], starts: list[int], start: int, end: int
) -> float | None:
    """The mean OCR confidence of the elements a chunk's text ``start:end`` comes from, each
    weighted by its length; None when none of them was read by OCR."""
    first = max(0, bisect.bisect_right(starts, start) - 1)
    last = max(first, bisect.bisect_left(starts, end) - 1)
    read = [
        (e.ocr_confidence, len(e.text))
        for e in members[first : last + 1]
        if e.ocr_confidence is not None
    ]
    weight = sum(length for _, length in read)
    if weight == 0:
        return None
    return round(sum(confidence * length for confidence, length in read) / weight, 2)
