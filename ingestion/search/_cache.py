"""Query embeddings kept briefly per text: a bounded LRU whose entries expire."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from inference.embedders import Embedder

__all__ = ["QueryEmbedder"]


class QueryEmbedder:
    """Embeds one query text at a time, off the event loop, remembering recent answers.

    Entries live ``ttl_s`` and at most ``max_entries`` are kept (least recently used go
    first); ``max_entries=0`` turns the cache off. Concurrent misses for the same text may
    both embed: the result is the same and the embedder serialises them anyway.
    """

    def __init__(
        self,
        embedder: Embedder,
        *,
        max_entries: int,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._embedder = embedder
        self._max_entries = max_entries
        self._ttl_s = ttl_s
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, list[float]]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    async def embed(self, text: str) -> list[float]:
        """The query's vector, from the cache when it is fresh there."""
        cached = self._lookup(text)
        if cached is not None:
            return cached
        vectors = await asyncio.to_thread(self._embedder.embed, [text])
        vector = vectors[0]
        self._store(text, vector)
        return vector

    def _lookup(self, text: str) -> list[float] | None:
        now = self._clock()
        with self._lock:
            entry = self._entries.get(text)
            if entry is None or entry[0] <= now:
                if entry is not None:
                    del self._entries[text]
                self.misses += 1
                return None
            self._entries.move_to_end(text)
            self.hits += 1
            return entry[1]

    def _store(self, text: str, vector: list[float]) -> None:
        if self._max_entries <= 0:
            return
        with self._lock:
            self._entries[text] = (self._clock() + self._ttl_s, vector)
            self._entries.move_to_end(text)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
