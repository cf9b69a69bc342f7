"""The ``vector_stores`` table, with file counts and usage aggregated from its files."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from ingestion.collections._files import content_lock
from ingestion.collections._pages import page_clause, to_page
from ingestion.collections._records import FileCounts, Page, PageRequest, VectorStoreRecord
from ingestion.errors import StorageError

__all__ = ["VectorStoreRepository"]

_log = logging.getLogger(__name__)

_SELECT = sql.SQL(
    "SELECT vector_stores.id, vector_stores.owner_key_id, vector_stores.name, "
    "vector_stores.metadata, vector_stores.embedding_model, vector_stores.embedding_dimension, "
    "vector_stores.expires_after, vector_stores.created_at, vector_stores.last_active_at, "
    "count(f.file_id) FILTER (WHERE f.status = 'in_progress'), "
    "count(f.file_id) FILTER (WHERE f.status = 'completed'), "
    "count(f.file_id) FILTER (WHERE f.status = 'failed'), "
    "count(f.file_id) FILTER (WHERE f.status = 'cancelled'), "
    "coalesce(sum(f.usage_bytes), 0) "
    "FROM vector_stores LEFT JOIN vector_store_files AS f ON f.vector_store_id = vector_stores.id "
)


def _record(row: tuple[Any, ...]) -> VectorStoreRecord:
    counts = FileCounts(int(row[9]), int(row[10]), int(row[11]), int(row[12]))
    store_id, owner, name, metadata, model, dimension, expires_after, created, active = row[:9]
    return VectorStoreRecord(
        id=store_id,
        owner_key_id=owner,
        name=name,
        metadata=dict(metadata or {}),
        embedding_model=model,
        embedding_dimension=dimension,
        expires_after=expires_after,
        created_at=created,
        last_active_at=active,
        file_counts=counts,
        usage_bytes=int(row[13]),
    )


class VectorStoreRepository:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def create(
        self,
        *,
        store_id: str,
        owner_key_id: str | None,
        name: str | None,
        metadata: dict[str, Any],
        embedding_model: str,
        embedding_dimension: int,
        expires_after: dict[str, Any] | None,
    ) -> VectorStoreRecord:
        async with self._pool.connection() as conn:
            await conn.execute(
                "INSERT INTO vector_stores (id, owner_key_id, name, metadata, embedding_model, "
                "embedding_dimension, expires_after) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (
                    store_id,
                    owner_key_id,
                    name,
                    Jsonb(metadata),
                    embedding_model,
                    embedding_dimension,
                    Jsonb(expires_after) if expires_after is not None else None,
                ),
            )
        record = await self.get(store_id)
        assert record is not None
        return record

    async def get(self, store_id: str) -> VectorStoreRecord | None:
        query = _SELECT + sql.SQL("WHERE vector_stores.id = %s GROUP BY vector_stores.id")
        async with self._pool.connection() as conn:
            row = await (await conn.execute(query, (store_id,))).fetchone()
        return _record(row) if row else None

    async def list_page(
        self, page: PageRequest, *, visible: sql.Composable | None = None, params: dict[str, Any]
    ) -> Page[VectorStoreRecord]:
        condition, order, page_params, backwards = page_clause(page, table="vector_stores")
        where = condition if visible is None else sql.SQL("{} AND {}").format(condition, visible)
        query = _SELECT + sql.SQL("WHERE {} GROUP BY vector_stores.id {}").format(where, order)
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(query, {**params, **page_params})).fetchall()
        return to_page([_record(r) for r in rows], page.limit, backwards)

    async def update(
        self,
        store_id: str,
        *,
        name: str | None = None,
        metadata: dict[str, Any] | None = None,
        expires_after: dict[str, Any] | None = None,
    ) -> VectorStoreRecord | None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "UPDATE vector_stores SET name = coalesce(%s, name), "
                "metadata = coalesce(%s, metadata), "
                "expires_after = coalesce(%s, expires_after), last_active_at = now() "
                "WHERE id = %s",
                (
                    name,
                    Jsonb(metadata) if metadata is not None else None,
                    Jsonb(expires_after) if expires_after is not None else None,
                    store_id,
                ),
            )
        return await self.get(store_id)

    async def touch(self, store_id: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "UPDATE vector_stores SET last_active_at = now() WHERE id = %s", (store_id,)
            )

    async def delete(
        self,
        store_id: str,
        *,
        with_orphaned_files: bool,
        remove_bytes: Callable[[str], None],
    ) -> list[str] | None:
        """Delete the store, its files-in-store and their chunks; None if there was none.

        With ``with_orphaned_files`` the files that were in this store and in no other go
        too (returned by id), and their bytes once no remaining file holds the content.
        Locks are taken store -> files -> files-in-store, the order every other writer
        of these rows follows, so a concurrent add, file deletion or chunk write waits
        instead of deadlocking; a chunk write in progress finishes first, then its chunks
        go with the rest.
        """
        async with self._pool.connection() as conn:
            async with conn.transaction():
                found = await (
                    await conn.execute(
                        "SELECT 1 FROM vector_stores WHERE id = %s FOR UPDATE", (store_id,)
                    )
                ).fetchone()
                if found is None:
                    return None
                candidates: list[str] = []
                if with_orphaned_files:
                    candidates = [
                        row[0]
                        for row in await (await conn.execute(_LOCK_FILES, (store_id,))).fetchall()
                    ]
                await conn.execute(
                    "DELETE FROM vector_store_files WHERE vector_store_id = %s", (store_id,)
                )
                deleted: list[tuple[str, str]] = []
                if candidates:
                    deleted = [
                        (row[0], row[1])
                        for row in await (
                            await conn.execute(_DELETE_ORPHANS, (candidates,))
                        ).fetchall()
                    ]
                await conn.execute("DELETE FROM vector_stores WHERE id = %s", (store_id,))
            for sha in sorted({sha for _, sha in deleted}):
                await _remove_unreferenced_bytes(conn, sha, remove_bytes)
        return [file_id for file_id, _ in deleted]


_LOCK_FILES = """
SELECT f.id FROM files AS f JOIN vector_store_files AS v ON v.file_id = f.id
 WHERE v.vector_store_id = %s ORDER BY f.id FOR UPDATE OF f
"""
_DELETE_ORPHANS = """
DELETE FROM files AS f
 WHERE f.id = ANY(%s)
   AND NOT EXISTS (SELECT 1 FROM vector_store_files AS v WHERE v.file_id = f.id)
RETURNING f.id, f.sha256
"""


async def _remove_unreferenced_bytes(
    conn: AsyncConnection, sha256: str, remove_bytes: Callable[[str], None]
) -> None:
    """One content at a time, under its lock (a store of many files would otherwise hold
    a lock per content at once). If this fails after the rows are gone, the bytes stay as
    unreferenced garbage, never as a file that lost its bytes."""
    async with conn.transaction():
        await content_lock(conn, sha256)
        others = await (
            await conn.execute("SELECT 1 FROM files WHERE sha256 = %s LIMIT 1", (sha256,))
        ).fetchone()
        if others is not None:
            return
        try:
            await asyncio.to_thread(remove_bytes, sha256)  # blocks: a disk, or S3
        except StorageError:
            _log.exception("could not remove the bytes of a deleted file", extra={"sha256": sha256})
