"""Batched embedding with progress reports and a check of what the embedder returns."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from inference.embedders import Embedder, EmbeddingError

__all__ = ["BatchEmbedder"]


class BatchEmbedder:
    """Embeds texts ``batch_size`` at a time; ``on_batch(done)`` after each batch.

    ``EmbeddingError`` (a remote endpoint down, a model that failed to load) propagates:
    the caller treats it as transient and retries the file.
    """

    def __init__(self, embedder: Embedder, *, batch_size: int) -> None:
        self._embedder = embedder
        self._batch_size = batch_size

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    def embed(
        self, texts: Sequence[str], on_batch: Callable[[int], None] | None = None
    ) -> list[list[float]]:
        dimension = self._embedder.dimension
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            batch = texts[start : start + self._batch_size]
            result = self._embedder.embed(batch)
            if len(result) != len(batch) or any(len(v) != dimension for v in result):
                raise EmbeddingError(
                    f"embedder {self._embedder.model_name} returned {len(result)} vectors for "
                    f"{len(batch)} texts, or vectors not of dimension {dimension}"
                )
            vectors.extend(result)
            if on_batch is not None:
                on_batch(len(vectors))
        return vectors
