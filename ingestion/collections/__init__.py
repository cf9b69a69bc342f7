"""Collections as the gateway sees them: files, vector stores, files in stores, batches."""

from __future__ import annotations

from ingestion.collections._files import FileRepository
from ingestion.collections._ids import new_id
from ingestion.collections._records import (
    BatchRecord,
    FileCounts,
    FileRecord,
    Page,
    PageRequest,
    StoreFileRecord,
    VectorStoreRecord,
)
from ingestion.collections._store_files import NewStoreFile, StoreFileRepository
from ingestion.collections._stores import VectorStoreRepository

__all__ = [
    "BatchRecord",
    "FileCounts",
    "FileRecord",
    "FileRepository",
    "NewStoreFile",
    "Page",
    "PageRequest",
    "StoreFileRecord",
    "StoreFileRepository",
    "VectorStoreRecord",
    "VectorStoreRepository",
    "new_id",
]
