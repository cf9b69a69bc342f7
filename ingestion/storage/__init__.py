"""Object storage for uploaded bytes: an interface and a local-directory implementation."""

from __future__ import annotations

from ingestion.storage._base import ObjectStorage, ObjectWriter, StagedObject
from ingestion.storage._build import build_storage
from ingestion.storage._local import LocalStorage

__all__ = ["LocalStorage", "ObjectStorage", "ObjectWriter", "StagedObject", "build_storage"]
