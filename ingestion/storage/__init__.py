"""Object storage for uploaded bytes: an interface, a local-directory implementation and an
S3-compatible one (``ingestion.storage._s3``, imported when configured: it loads boto3)."""

from __future__ import annotations

from ingestion.storage._base import AssembledObject, ObjectStorage, ObjectWriter, StagedObject
from ingestion.storage._build import build_storage
from ingestion.storage._local import LocalStorage

__all__ = [
    "AssembledObject",
    "LocalStorage",
    "ObjectStorage",
    "ObjectWriter",
    "StagedObject",
    "build_storage",
]
