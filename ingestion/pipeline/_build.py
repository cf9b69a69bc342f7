"""Assemble the pipeline a worker runs from settings and the collaborators it is given."""

from __future__ import annotations

from psycopg_pool import ConnectionPool

from configs import Settings
from inference.embedders import Embedder
from ingestion.chunking import TokenChunker
from ingestion.embedding import BatchEmbedder
from ingestion.metrics import IngestionMetrics
from ingestion.parsing import ParseLimits, Parser, ProcessParser, UnstructuredParser
from ingestion.pipeline._ingest import FileIngestor, IngestionLimits
from ingestion.pipeline._jobs import JobStore
from ingestion.pipeline._writer import ChunkWriter
from ingestion.storage import build_storage

__all__ = ["build_file_ingestor"]


def build_file_ingestor(
    settings: Settings,
    *,
    pool: ConnectionPool,
    embedder: Embedder,
    metrics: IngestionMetrics,
) -> FileIngestor:
    ingestion = settings.ingestion
    return FileIngestor(
        jobs=JobStore(pool),
        writer=ChunkWriter(pool),
        storage=build_storage(ingestion.storage, data_dir=settings.data_dir),
        parser=_parser(settings),
        chunker=TokenChunker(time_limit_s=ingestion.chunking.time_limit_s),
        embedder=BatchEmbedder(embedder, batch_size=ingestion.embed_batch_size),
        metrics=metrics,
        limits=IngestionLimits(max_file_bytes=ingestion.max_file_bytes),
    )


def _parser(settings: Settings) -> Parser:
    parsing = settings.ingestion.parsing
    parser = UnstructuredParser(
        strategy=parsing.strategy,
        pdf_engine=parsing.pdf_engine,
        max_pages=parsing.max_pages,
        languages=parsing.languages,
        max_expanded_bytes=parsing.max_expanded_bytes,
    )
    if parsing.processes == 0:
        return parser
    return ProcessParser(
        parser,
        processes=parsing.processes,
        limits=ParseLimits(
            time_limit_s=parsing.time_limit_s, memory_limit_bytes=parsing.memory_limit_bytes
        ),
        log_settings=settings.logging,
    )
