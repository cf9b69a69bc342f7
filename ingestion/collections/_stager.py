"""What a repository needs to queue files for ingestion inside its own transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from psycopg import AsyncConnection

__all__ = ["IngestionStager"]


class IngestionStager(Protocol):
    """Stages ingestion jobs for (vector store id, file id) pairs in ``conn``'s transaction
    (:class:`ingestion.queue.IngestionQueue`)."""

    async def stage(self, conn: AsyncConnection[Any], items: Sequence[tuple[str, str]]) -> None: ...
