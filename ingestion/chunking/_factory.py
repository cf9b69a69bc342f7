"""Build the configured chunker: the one place the chunking ``kind`` discriminator is read."""

from __future__ import annotations

from typing import assert_never

from configs import ChunkingSettings, TokenChunkingSettings
from ingestion.chunking._base import Chunker
from ingestion.chunking._tokens import TokenChunker

__all__ = ["build_chunker"]


def build_chunker(settings: ChunkingSettings) -> Chunker:
    """The chunker ``settings.kind`` names."""
    match settings:
        case TokenChunkingSettings():
            return TokenChunker(time_limit_s=settings.time_limit_s)
        case _:
            assert_never(settings)
