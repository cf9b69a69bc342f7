"""Assemble the pipeline a worker runs from settings and the collaborators it is given.

Each stage is the implementation its settings name (``build_parser``, ``build_chunker``; the
embedder arrives built by ``inference.embedders.build_embedder``).
"""

from __future__ import annotations

from psycopg_pool import ConnectionPool

from configs import Settings
from inference.embedders import Embedder
from ingestion.chunking import build_chunker
from ingestion.embedding import BatchEmbedder
from ingestion.metrics import IngestionMetrics
from ingestion.parsing import build_parser
from ingestion.pipeline._ingest import FileIngestor, IngestionLimits
from ingestion.pipeline._jobs import JobStore
from ingestion.pipeline._writer import ChunkWriter
from ingestion.storage import build_storage
from ingestion.webhooks import WebhookEvents

__all__ = ["build_file_ingestor"]


def build_file_ingestor(
    settings: Settings,
    *,
    pool: ConnectionPool,
    embedder: Embedder,
    metrics: IngestionMetrics,
) -> FileIngestor:
    ingestion = settings.ingestion
    events = WebhookEvents.from_settings(settings)  # a file completed or failed
    return FileIngestor(
        jobs=JobStore(pool, events=events),
        writer=ChunkWriter(pool, events=events),
        storage=build_storage(ingestion.storage, data_dir=settings.data_dir),
        parser=build_parser(ingestion.parsing, log_settings=settings.logging),
        chunker=build_chunker(ingestion.chunking),
        embedder=BatchEmbedder(embedder, batch_size=ingestion.embed_batch_size),
        metrics=metrics,
        limits=IngestionLimits(max_file_bytes=ingestion.max_file_bytes),
    )
