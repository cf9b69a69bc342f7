"""Token-based chunking with llama-index's SentenceSplitter, one section at a time.

Chunks never span two sections or two pages (so a chunk's page number is exact); inside one
elements are joined by blank lines, which the splitter prefers as split points, so element
boundaries are kept where sizes allow.
Tokens are OpenAI's cl100k (``max_chunk_size_tokens`` means what it means at OpenAI), from
the encoding llama-index bundles, so nothing is downloaded.
"""

from __future__ import annotations

import bisect
import itertools
import threading
from collections.abc import Callable, Sequence
from typing import Any

from ingestion.chunking._base import Chunk, ChunkingStrategy
from ingestion.parsing import Element

__all__ = ["TokenChunker"]

_SEPARATOR = "\n\n"


class TokenChunker:
    """One splitter per chunking strategy, reused (splitters are stateless); llama-index is
    imported on the first call."""

    def __init__(self) -> None:
        self._tokenizer: Callable[[str], list[Any]] | None = None
        self._splitters: dict[ChunkingStrategy, Any] = {}
        self._lock = threading.Lock()

    def chunk(self, elements: Sequence[Element], strategy: ChunkingStrategy) -> list[Chunk]:
        splitter = self._splitter(strategy)
        tokenize = self._tokenize
        chunks: list[Chunk] = []
        for (section, _page), group in itertools.groupby(
            elements, key=lambda e: (e.section, e.page_number)
        ):
            members = list(group)
            text, starts = _join(members)
            cursor = 0
            for piece in splitter.split_text(text):
                if not piece.strip():
                    continue
                found = text.find(piece[:64], cursor)
                offset = found if found >= 0 else cursor
                cursor = offset + 1
                owner = members[max(0, bisect.bisect_right(starts, offset) - 1)]
                chunks.append(
                    Chunk(
                        index=len(chunks),
                        text=piece,
                        token_count=len(tokenize(piece)),
                        page_number=owner.page_number,
                        section=section,
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

    def _splitter(self, strategy: ChunkingStrategy) -> Any:
        tokenize = self._tokenize
        with self._lock:
            splitter = self._splitters.get(strategy)
            if splitter is None:
                from llama_index.core.node_parser import SentenceSplitter

                splitter = SentenceSplitter(
                    chunk_size=strategy.max_tokens,
                    chunk_overlap=strategy.overlap_tokens,
                    tokenizer=tokenize,
                    paragraph_separator=_SEPARATOR,
                )
                self._splitters[strategy] = splitter
            return splitter


def _join(elements: list[Element]) -> tuple[str, list[int]]:
    starts: list[int] = []
    length = 0
    for element in elements:
        starts.append(length)
        length += len(element.text) + len(_SEPARATOR)
    return _SEPARATOR.join(e.text for e in elements), starts
