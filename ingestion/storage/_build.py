"""The object storage the settings ask for."""

from __future__ import annotations

from pathlib import Path

from configs import IngestionStorageSettings, LocalStorageSettings
from ingestion.storage._base import ObjectStorage
from ingestion.storage._local import LocalStorage

__all__ = ["build_storage"]


def build_storage(settings: IngestionStorageSettings, *, data_dir: Path) -> ObjectStorage:
    """``local``: ``settings.path`` or ``<data_dir>/files``; ``s3``: the bucket, with boto3's
    credential chain (boto3 is imported only then)."""
    if isinstance(settings, LocalStorageSettings):
        return LocalStorage((settings.path or data_dir / "files").resolve())
    from ingestion.storage._s3 import S3Storage

    return S3Storage.from_settings(settings)
