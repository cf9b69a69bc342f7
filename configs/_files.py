"""Settings of the Files API (``/v1/files``): what a member key may keep stored."""

from __future__ import annotations

from pydantic import Field

from configs._strict import Strict
from configs._uploads import UploadSettings

__all__ = ["FileSettings"]


class FileSettings(Strict):
    """Per-key storage caps on member (non-admin) uploads; admin keys have none.

    A member's files (its uploads and its batches' output files) count; an upload that would
    take the key past either cap is refused. The body limit of one upload is
    ``ingestion.max_upload_bytes``; a file sent in parts (``/v1/uploads``) may be up to
    ``uploads.max_bytes``.
    """

    member_max_bytes_per_key: int = Field(
        default=10 * 1024**3, ge=0, description="bytes of files one member key may keep stored"
    )
    member_max_files_per_key: int = Field(
        default=10_000, ge=0, description="files one member key may keep stored"
    )
    uploads: UploadSettings = UploadSettings()
