"""An embedder built on first use, so processes that never embed never load a model."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from inference.embedders import Embedder

__all__ = ["LazyEmbedder"]


class LazyEmbedder:
    """Wraps a factory; the first property or call builds the embedder (once, thread-safe)."""

    def __init__(self, factory: Callable[[], Embedder]) -> None:
        self._factory = factory
        self._embedder: Embedder | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._embedder is not None

    def get(self) -> Embedder:
        embedder = self._embedder
        if embedder is None:
            with self._lock:
                if self._embedder is None:
                    self._embedder = self._factory()
                embedder = self._embedder
        return embedder

    @property
    def model_name(self) -> str:
        return self.get().model_name

    @property
    def dimension(self) -> int:
        return self.get().dimension

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return self.get().embed(texts)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.get().count_tokens(texts)
