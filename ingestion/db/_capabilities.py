"""What the connected Postgres can do, so newer pgvector features are used only where present."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

__all__ = ["DatabaseCapabilities", "detect_capabilities"]


@dataclass(frozen=True, slots=True)
class DatabaseCapabilities:
    """Versions of the server and of pgvector, and the features that follow from them."""

    server_version: int
    pgvector_version: tuple[int, ...]

    @property
    def hnsw(self) -> bool:
        return self.pgvector_version >= (0, 5)

    @property
    def iterative_index_scan(self) -> bool:
        """``hnsw.iterative_scan``: filtered HNSW searches that keep scanning past the limit."""
        return self.pgvector_version >= (0, 8)


async def detect_capabilities(conn: psycopg.AsyncConnection) -> DatabaseCapabilities:
    """Read the server and pgvector versions; pgvector must be installed (migration 0001)."""
    cursor = await conn.execute(
        "SELECT current_setting('server_version_num')::int, "
        "(SELECT extversion FROM pg_extension WHERE extname = 'vector')"
    )
    row = await cursor.fetchone()
    assert row is not None
    server, vector = row
    parsed = tuple(int(part) for part in (vector or "0").split(".") if part.isdigit())
    return DatabaseCapabilities(server_version=server, pgvector_version=parsed)
