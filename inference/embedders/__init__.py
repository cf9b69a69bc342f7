"""Embedders: one interface, local (transformers) and remote (OpenAI-compatible) implementations."""

from __future__ import annotations

from inference.embedders._base import Embedder, EmbeddingError
from inference.embedders._factory import SHARED_BASE_URL, build_embedder
from inference.embedders._local import QUERY_LANE_TEXTS, LocalEmbedder, default_model_path
from inference.embedders._remote import RemoteEmbedder

__all__ = [
    "QUERY_LANE_TEXTS",
    "SHARED_BASE_URL",
    "Embedder",
    "EmbeddingError",
    "LocalEmbedder",
    "RemoteEmbedder",
    "build_embedder",
    "default_model_path",
]
