"""The ingestion pipeline: one file into one store, and the worker-side state it moves."""

from __future__ import annotations

from ingestion.pipeline._build import build_file_ingestor
from ingestion.pipeline._ingest import FileIngestor, IngestionLimits
from ingestion.pipeline._jobs import Job, JobStore
from ingestion.pipeline._writer import ChunkWriter, WriteOutcome

__all__ = [
    "ChunkWriter",
    "FileIngestor",
    "IngestionLimits",
    "Job",
    "JobStore",
    "WriteOutcome",
    "build_file_ingestor",
]
