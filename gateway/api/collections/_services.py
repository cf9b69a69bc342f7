"""What the Files and Vector Stores routes use, built once by ``gateway.entry.compose``.

The embedder is built on first use (a store's creation or the first search), so a gateway
that serves no collections never loads a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.api.files import FilesController, FileService
from gateway.api.uploads import UploadsController, UploadService
from gateway.api.vector_stores import SearchService, VectorStoresController, VectorStoreService

__all__ = ["CollectionServices", "collection_route_handlers"]


def collection_route_handlers() -> list[Any]:
    return [FilesController, UploadsController, VectorStoresController]


@dataclass(frozen=True, slots=True)
class CollectionServices:
    """``app.state.collections``: the services behind ``/v1/files``, ``/v1/uploads`` and
    ``/v1/vector_stores``."""

    files: FileService
    uploads: UploadService
    vector_stores: VectorStoreService
    search: SearchService
