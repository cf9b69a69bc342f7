"""The ``vector_stores`` table, with file counts and usage aggregated from its files."""

from __future__ import annotations

from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from ingestion.collections._pages import page_clause, to_page
from ingestion.collections._records import FileCounts, Page, PageRequest, VectorStoreRecord

__all__ = ["VectorStoreRepository"]

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

    async def delete(self, store_id: str) -> bool:
        """The store, its files-in-store and its chunks (cascade); the files themselves stay."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute("DELETE FROM vector_stores WHERE id = %s", (store_id,))
            return cursor.rowcount == 1
