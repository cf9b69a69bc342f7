"""The object storage the settings ask for."""

from __future__ import annotations

from pathlib import Path

from configs import IngestionStorageSettings
from ingestion.storage._base import ObjectStorage
from ingestion.storage._local import LocalStorage

__all__ = ["build_storage"]


def build_storage(settings: IngestionStorageSettings, *, data_dir: Path) -> ObjectStorage:
    """``local``: ``settings.path`` or ``<data_dir>/files``."""
    return LocalStorage((settings.path or data_dir / "files").resolve())
