"""The one embedder interface used by ingestion and by the gateway."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from inference.errors import InferenceError

__all__ = ["Embedder", "EmbeddingError"]


class EmbeddingError(InferenceError):
    """An embedder could not produce vectors (model missing, remote error, bad input)."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised vectors of a fixed dimension, in batches."""

    @property
    def model_name(self) -> str:
        """Name reported to clients and stored with every vector."""

    @property
    def dimension(self) -> int:
        """Length of every vector this embedder returns."""

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One normalised vector per text, in order. Blocking: call from a worker thread."""

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens each text costs this model (for usage accounting and limits)."""
