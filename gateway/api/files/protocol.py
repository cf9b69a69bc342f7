"""Wire shapes of the Files API (OpenAI's ``file`` object and its list)."""

from __future__ import annotations

from typing import Any

from ingestion.collections import FileRecord

__all__ = ["MEMBER_PURPOSES", "PURPOSES", "file_deleted", "file_object"]

# Purposes a document collection reads, and a batch's input; others (fine-tune, vision) are
# refused. ``batch_output`` files are written by the gateway (a batch's output and errors).
PURPOSES = ("assistants", "user_data", "batch")
MEMBER_PURPOSES = ("batch",)  # what a member key may upload: its own batches' input


def file_object(record: FileRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "object": "file",
        "bytes": record.bytes,
        "created_at": int(record.created_at.timestamp()),
        "expires_at": None,
        "filename": record.filename,
        "purpose": record.purpose,
        "status": "processed",
        "status_details": None,
    }


def file_deleted(file_id: str) -> dict[str, Any]:
    return {"id": file_id, "object": "file", "deleted": True}
