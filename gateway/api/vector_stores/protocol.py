"""Wire shapes of the Vector Stores API: request bodies (validated) and OpenAI's objects."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ingestion.collections import BatchRecord, FileCounts, StoreFileRecord, VectorStoreRecord

__all__ = [
    "AddFile",
    "CreateBatch",
    "CreateVectorStore",
    "ModifyVectorStore",
    "SearchBody",
    "UpdateFileAttributes",
    "batch_object",
    "store_file_object",
    "store_object",
]

AttributeValue = str | float | bool
Attributes = Annotated[dict[str, AttributeValue], Field(max_length=16)]


class _Body(BaseModel):
    # Unknown fields are refused: silently dropping one could change what the caller meant.
    model_config = ConfigDict(extra="forbid")


class StaticChunking(_Body):
    max_chunk_size_tokens: int = Field(ge=100, le=4096)
    chunk_overlap_tokens: int = Field(ge=0)

    @model_validator(mode="after")
    def _overlap(self) -> StaticChunking:
        if self.chunk_overlap_tokens * 2 > self.max_chunk_size_tokens:
            raise ValueError("chunk_overlap_tokens must not exceed half of max_chunk_size_tokens")
        return self


class ChunkingStrategy(_Body):
    type: Literal["auto", "static"]
    static: StaticChunking | None = None

    @model_validator(mode="after")
    def _static(self) -> ChunkingStrategy:
        if self.type == "static" and self.static is None:
            raise ValueError("a static chunking_strategy needs 'static' sizes")
        return self


class ExpiresAfter(_Body):
    anchor: Literal["last_active_at"]
    days: int = Field(ge=1, le=365)


class CreateVectorStore(_Body):
    name: str | None = Field(default=None, max_length=256)
    file_ids: list[str] = Field(default_factory=list, max_length=500)
    metadata: dict[str, str] | None = Field(default=None, max_length=16)
    expires_after: ExpiresAfter | None = None
    chunking_strategy: ChunkingStrategy | None = None
    description: str | None = None


class ModifyVectorStore(_Body):
    name: str | None = Field(default=None, max_length=256)
    metadata: dict[str, str] | None = Field(default=None, max_length=16)
    expires_after: ExpiresAfter | None = None


class AddFile(_Body):
    file_id: str
    attributes: Attributes | None = None
    chunking_strategy: ChunkingStrategy | None = None


class UpdateFileAttributes(_Body):
    attributes: Attributes | None


class CreateBatch(_Body):
    file_ids: list[str] | None = Field(default=None, max_length=500)
    files: list[AddFile] | None = Field(default=None, max_length=500)
    attributes: Attributes | None = None
    chunking_strategy: ChunkingStrategy | None = None

    @model_validator(mode="after")
    def _one_list(self) -> CreateBatch:
        if bool(self.file_ids) == bool(self.files):
            raise ValueError("give either file_ids or files (one non-empty list)")
        return self


class SearchBody(_Body):
    """``ranking_options`` are checked by ``gateway.policy.retrieval.parse_ranking_options``
    (as in ``file_search`` tools). ``rewrite_query`` is accepted and changes nothing: the
    query is searched as written (``search_query`` echoes it)."""

    query: str | list[str]
    max_num_results: int = Field(default=10, ge=1, le=50)
    filters: dict[str, Any] | None = None
    ranking_options: dict[str, Any] | None = None
    rewrite_query: bool = False

    @property
    def text(self) -> str:
        text = self.query if isinstance(self.query, str) else " ".join(self.query)
        return text.strip()

    @property
    def queries(self) -> list[str]:
        """The query as given, as a list (OpenAI's ``search_query``)."""
        return [self.query] if isinstance(self.query, str) else list(self.query)


def _counts(counts: FileCounts) -> dict[str, int]:
    return {
        "in_progress": counts.in_progress,
        "completed": counts.completed,
        "failed": counts.failed,
        "cancelled": counts.cancelled,
        "total": counts.total,
    }


def store_object(record: VectorStoreRecord) -> dict[str, Any]:
    expires_at = None
    if record.expires_after is not None:
        days = int(record.expires_after.get("days", 0))
        expires_at = int((record.last_active_at + timedelta(days=days)).timestamp())
    return {
        "id": record.id,
        "object": "vector_store",
        "created_at": int(record.created_at.timestamp()),
        "name": record.name,
        "usage_bytes": record.usage_bytes,
        "file_counts": _counts(record.file_counts),
        "status": "in_progress" if record.file_counts.in_progress else "completed",
        "expires_after": record.expires_after,
        "expires_at": expires_at,
        "last_active_at": int(record.last_active_at.timestamp()),
        "metadata": record.metadata,
        "ragway": {
            "embedding_model": record.embedding_model,
            "embedding_dimension": record.embedding_dimension,
        },
    }


def store_file_object(record: StoreFileRecord) -> dict[str, Any]:
    last_error = None
    if record.status == "failed":
        last_error = {
            "code": record.last_error_code or "server_error",
            "message": record.last_error_message or "ingestion failed",
        }
    return {
        "id": record.file_id,
        "object": "vector_store.file",
        "usage_bytes": record.usage_bytes,
        "created_at": int(record.created_at.timestamp()),
        "vector_store_id": record.vector_store_id,
        "status": record.status,
        "last_error": last_error,
        "chunking_strategy": {
            "type": "static",
            "static": {
                "max_chunk_size_tokens": record.max_chunk_size_tokens,
                "chunk_overlap_tokens": record.chunk_overlap_tokens,
            },
        },
        "attributes": record.attributes,
        "ragway": {
            "chunks_done": record.chunks_done,
            "chunks_total": record.chunks_total,
            "duplicate_of": record.duplicate_of,
            "replaced_file_ids": record.replaced_file_ids,
            "sha256": record.sha256,
        },
    }


def batch_object(record: BatchRecord) -> dict[str, Any]:
    counts = record.file_counts
    if record.cancelled_at is not None:
        status = "cancelled"
    elif counts.in_progress:
        status = "in_progress"
    elif counts.total and counts.failed == counts.total:
        status = "failed"
    else:
        status = "completed"
    return {
        "id": record.id,
        "object": "vector_store.files_batch",
        "created_at": int(record.created_at.timestamp()),
        "vector_store_id": record.vector_store_id,
        "status": status,
        "file_counts": _counts(counts),
    }
