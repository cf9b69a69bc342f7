"""Embedders: one interface, local (transformers) and remote (OpenAI-compatible) implementations."""

from __future__ import annotations

from inference.embedders._base import Embedder, EmbeddingError
from inference.embedders._local import LocalEmbedder, default_model_path

__all__ = ["Embedder", "EmbeddingError", "LocalEmbedder", "default_model_path"]
