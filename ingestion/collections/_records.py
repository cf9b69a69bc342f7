"""Rows of the collection tables as the gateway reads them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

__all__ = [
    "BatchRecord",
    "FileCounts",
    "FileRecord",
    "Page",
    "PageRequest",
    "StoreFileRecord",
    "VectorStoreRecord",
]

FileStatus = Literal["in_progress", "completed", "failed", "cancelled"]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PageRequest:
    """OpenAI cursor pagination: ``after`` / ``before`` are object ids."""

    limit: int = 20
    order: Literal["asc", "desc"] = "desc"
    after: str | None = None
    before: str | None = None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    has_more: bool


@dataclass(frozen=True, slots=True)
class FileRecord:
    id: str
    owner_key_id: str | None
    filename: str
    purpose: str
    bytes: int
    sha256: str
    content_type: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class FileCounts:
    in_progress: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0

    @property
    def total(self) -> int:
        return self.in_progress + self.completed + self.failed + self.cancelled


@dataclass(frozen=True, slots=True)
class VectorStoreRecord:
    id: str
    owner_key_id: str | None
    name: str | None
    metadata: dict[str, Any]
    embedding_model: str
    embedding_dimension: int
    expires_after: dict[str, Any] | None
    created_at: datetime
    last_active_at: datetime
    file_counts: FileCounts = field(default_factory=FileCounts)
    usage_bytes: int = 0


@dataclass(frozen=True, slots=True)
class StoreFileRecord:
    vector_store_id: str
    file_id: str
    batch_id: str | None
    status: FileStatus
    last_error_code: str | None
    last_error_message: str | None
    attributes: dict[str, Any]
    chunking_type: str
    max_chunk_size_tokens: int
    chunk_overlap_tokens: int
    duplicate_of: str | None
    chunks_total: int | None
    chunks_done: int
    usage_bytes: int
    created_at: datetime
    sha256: str
    replaced_file_ids: list[str] = field(default_factory=list)  # older versions it replaced


@dataclass(frozen=True, slots=True)
class BatchRecord:
    id: str
    vector_store_id: str
    cancelled_at: datetime | None
    created_at: datetime
    file_counts: FileCounts = field(default_factory=FileCounts)
