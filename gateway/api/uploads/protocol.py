"""Wire shapes of OpenAI's Uploads API: the create and complete bodies, the ``upload`` and
``upload.part`` objects, and the rows behind them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field

from gateway.api.files.protocol import file_object
from ingestion.collections import FileRecord

__all__ = [
    "MAX_PART_BYTES",
    "CompleteUpload",
    "CreateUpload",
    "PartRow",
    "UploadRow",
    "part_object",
    "upload_object",
    "wire_status",
]

MAX_PART_BYTES = 64 * 1024 * 1024  # OpenAI's limit on one part

WireStatus = Literal["pending", "completed", "cancelled", "expired"]


class CreateUpload(BaseModel):
    """``POST /v1/uploads``. ``expires_after`` (an expiry of the File made) is refused by the
    serving: ragway's files are kept until deleted, and silently keeping one longer than
    asked would change what the request means."""

    model_config = ConfigDict(extra="forbid")

    bytes: int = Field(ge=0)
    filename: str = Field(min_length=1, max_length=1024)
    mime_type: str = Field(min_length=1, max_length=255)
    purpose: str = Field(min_length=1, max_length=64)
    expires_after: dict[str, Any] | None = None


class CompleteUpload(BaseModel):
    """``POST /v1/uploads/{id}/complete``: the parts in the file's order, and optionally the
    MD5 (hex) the joined bytes must have."""

    model_config = ConfigDict(extra="forbid")

    part_ids: list[str] = Field(max_length=10_000)
    md5: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{32}$")


@dataclass(frozen=True, slots=True)
class UploadRow:
    """An ``uploads`` row."""

    id: str
    owner_key_id: str | None
    filename: str
    purpose: str
    mime_type: str
    bytes: int
    received: int
    status: str
    file_id: str | None
    created_at: datetime
    expires_at: datetime
    now: datetime  # the database's clock when the row was read


@dataclass(frozen=True, slots=True)
class PartRow:
    """An ``upload_parts`` row."""

    id: str
    upload_id: str
    bytes: int
    sha256: str
    token: str
    created_at: datetime


def wire_status(row: UploadRow) -> WireStatus:
    """What a client sees: an upload past its expiry is ``expired`` before any sweep marks
    it, and one being completed is still ``pending``."""
    if row.status in ("pending", "completing"):
        return "expired" if row.expires_at <= row.now else "pending"
    return cast(WireStatus, row.status)  # the table's CHECK: completed, cancelled, expired


def upload_object(row: UploadRow, file: FileRecord | None = None) -> dict[str, Any]:
    """OpenAI's ``upload`` object; ``file`` once it is completed."""
    return {
        "id": row.id,
        "object": "upload",
        "bytes": row.bytes,
        "created_at": int(row.created_at.timestamp()),
        "expires_at": int(row.expires_at.timestamp()),
        "filename": row.filename,
        "purpose": row.purpose,
        "status": wire_status(row),
        "file": None if file is None else file_object(file),
    }


def part_object(row: PartRow) -> dict[str, Any]:
    """OpenAI's ``upload.part`` object."""
    return {
        "id": row.id,
        "object": "upload.part",
        "created_at": int(row.created_at.timestamp()),
        "upload_id": row.upload_id,
    }
