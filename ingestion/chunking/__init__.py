"""Chunking: parsed elements to token-sized chunks that keep to section boundaries."""

from __future__ import annotations

from ingestion.chunking._base import Chunk, Chunker, ChunkingStrategy
from ingestion.chunking._factory import build_chunker
from ingestion.chunking._tokens import TokenChunker

__all__ = ["Chunk", "Chunker", "ChunkingStrategy", "TokenChunker", "build_chunker"]
