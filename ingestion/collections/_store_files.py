"""``vector_store_files`` and ``vector_store_file_batches``: files in stores, and batches."""

from __future__ import annotations

from typing import Any, Literal

from psycopg import AsyncConnection, sql
from psycopg.errors import ForeignKeyViolation
from psycopg.rows import class_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from ingestion.collections._pages import page_clause, to_page
from ingestion.collections._records import (
    BatchRecord,
    FileCounts,
    Page,
    PageRequest,
    StoreFileRecord,
)
from ingestion.collections._stager import IngestionStager
from ingestion.errors import RecordNotFoundError

__all__ = ["NewStoreFile", "StoreFileRepository"]

_COLUMNS = (
    "vector_store_id, file_id, batch_id, status, last_error_code, last_error_message, "
    "attributes, chunking_type, max_chunk_size_tokens, chunk_overlap_tokens, duplicate_of, "
    "chunks_total, chunks_done, usage_bytes, created_at, sha256, replaced_file_ids"
)
# A file added again after it failed or was cancelled is queued again; otherwise it is kept.
_ADD = (
    """INSERT INTO vector_store_files (vector_store_id, file_id, batch_id, sha256, status,
    attributes, chunking_type, max_chunk_size_tokens, chunk_overlap_tokens)
SELECT %(store)s, f.id, %(batch)s, f.sha256, 'in_progress', %(attributes)s, %(type)s,
       %(max)s, %(overlap)s
  FROM files AS f WHERE f.id = %(file)s
ON CONFLICT (vector_store_id, file_id) DO UPDATE
   SET status = 'in_progress', batch_id = excluded.batch_id, attributes = excluded.attributes,
       chunking_type = excluded.chunking_type,
       max_chunk_size_tokens = excluded.max_chunk_size_tokens,
       chunk_overlap_tokens = excluded.chunk_overlap_tokens, last_error_code = NULL,
       last_error_message = NULL, attempts = 0, updated_at = now()
 WHERE vector_store_files.status IN ('failed', 'cancelled')
RETURNING """
    + _COLUMNS
    + ", (xmax = 0) AS inserted"
)
_COUNTS = (
    "count(*) FILTER (WHERE status = 'in_progress'), count(*) FILTER (WHERE status = 'completed'), "
    "count(*) FILTER (WHERE status = 'failed'), count(*) FILTER (WHERE status = 'cancelled')"
)


class NewStoreFile:
    """What adding one file to a store sets."""

    __slots__ = ("attributes", "chunking_type", "file_id", "max_tokens", "overlap_tokens")

    def __init__(
        self,
        file_id: str,
        *,
        attributes: dict[str, Any],
        chunking_type: Literal["auto", "static"],
        max_tokens: int,
        overlap_tokens: int,
    ) -> None:
        self.file_id = file_id
        self.attributes = attributes
        self.chunking_type = chunking_type
        self.max_tokens = max_tokens
        self.overlap_tokens = overlap_tokens


class StoreFileRepository:
    """Files in stores. Whatever queues a file stages its ingestion job in the same
    transaction (``stager``), so ``in_progress`` always has a message on its way."""

    def __init__(self, pool: AsyncConnectionPool, *, stager: IngestionStager) -> None:
        self._pool = pool
        self._stager = stager

    async def add(
        self, store_id: str, files: list[NewStoreFile], *, batch_id: str | None = None
    ) -> list[StoreFileRecord]:
        """Add files, queued as ``in_progress`` with their jobs staged; returns the records.

        A file already in the store keeps its state (and is not queued again) unless it
        failed or was cancelled. With ``batch_id`` the batch row is created first. A store
        deleted meanwhile raises ``RecordNotFoundError``.
        """
        try:
            async with self._pool.connection() as conn, conn.transaction():
                # The store's row first: the order a store's deletion locks rows in, so an
                # add racing a deletion waits for it instead of deadlocking, then finds none.
                touched = await conn.execute(
                    "UPDATE vector_stores SET last_active_at = now() WHERE id = %s", (store_id,)
                )
                if touched.rowcount == 0:
                    raise RecordNotFoundError(f"no vector store with id {store_id!r}")
                if batch_id is not None:
                    await conn.execute(
                        "INSERT INTO vector_store_file_batches (id, vector_store_id) "
                        "VALUES (%s, %s)",
                        (batch_id, store_id),
                    )
                added = [await _add_one(conn, store_id, item, batch_id) for item in files]
                queued = [(store_id, record.file_id) for record, is_new in added if is_new]
                await self._stager.stage(conn, queued)
        except ForeignKeyViolation as exc:  # a file deleted while it was being added
            raise RecordNotFoundError(f"a file was deleted while being added: {exc}") from exc
        return [record for record, _ in added]

    async def get(self, store_id: str, file_id: str) -> StoreFileRecord | None:
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=class_row(StoreFileRecord))
            await cursor.execute(
                f"SELECT {_COLUMNS} FROM vector_store_files "  # noqa: S608 - fixed column list
                "WHERE vector_store_id = %s AND file_id = %s",
                (store_id, file_id),
            )
            return await cursor.fetchone()

    async def list_page(
        self,
        store_id: str,
        page: PageRequest,
        *,
        status: str | None = None,
        batch_id: str | None = None,
    ) -> Page[StoreFileRecord]:
        scope = sql.SQL("c.vector_store_id = %(store)s")
        condition, order, params, backwards = page_clause(
            page, table="vector_store_files", key="file_id", scope=scope
        )
        params["store"] = store_id
        where = sql.SQL("vector_store_files.vector_store_id = %(store)s AND {}").format(condition)
        if status is not None:
            where = sql.SQL("{} AND vector_store_files.status = %(status)s").format(where)
            params["status"] = status
        if batch_id is not None:
            where = sql.SQL("{} AND vector_store_files.batch_id = %(batch)s").format(where)
            params["batch"] = batch_id
        query = sql.SQL("SELECT {} FROM vector_store_files WHERE {} {}").format(
            sql.SQL(_COLUMNS), where, order
        )
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=class_row(StoreFileRecord))
            await cursor.execute(query, params)
            rows = await cursor.fetchall()
        return to_page(rows, page.limit, backwards)

    async def update_attributes(
        self, store_id: str, file_id: str, attributes: dict[str, Any]
    ) -> StoreFileRecord | None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "UPDATE vector_store_files SET attributes = %s, updated_at = now() "
                "WHERE vector_store_id = %s AND file_id = %s",
                (Jsonb(attributes), store_id, file_id),
            )
        return await self.get(store_id, file_id)

    async def remove(self, store_id: str, file_id: str) -> bool:
        """Take a file out of a store (its chunks go with it); returns whether it was there.
        The files in the store that were its duplicates are queued for ingesting."""
        async with self._pool.connection() as conn, conn.transaction():
            promoted = await (
                await conn.execute(
                    "UPDATE vector_store_files SET status = 'in_progress', duplicate_of = NULL, "
                    "completed_at = NULL, updated_at = now() "
                    "WHERE vector_store_id = %s AND duplicate_of = %s RETURNING file_id",
                    (store_id, file_id),
                )
            ).fetchall()
            await self._stager.stage(conn, [(store_id, row[0]) for row in promoted])
            cursor = await conn.execute(
                "DELETE FROM vector_store_files WHERE vector_store_id = %s AND file_id = %s",
                (store_id, file_id),
            )
            return cursor.rowcount == 1

    async def get_batch(self, store_id: str, batch_id: str) -> BatchRecord | None:
        async with self._pool.connection() as conn:
            row = await (
                await conn.execute(
                    f"SELECT b.id, b.vector_store_id, b.cancelled_at, b.created_at, {_COUNTS} "  # noqa: S608 - fixed text
                    "FROM vector_store_file_batches AS b "
                    "LEFT JOIN vector_store_files AS f ON f.batch_id = b.id "
                    "WHERE b.id = %s AND b.vector_store_id = %s GROUP BY b.id",
                    (batch_id, store_id),
                )
            ).fetchone()
        if row is None:
            return None
        batch_id_, store_id_, cancelled_at, created_at = row[:4]
        return BatchRecord(
            id=batch_id_,
            vector_store_id=store_id_,
            cancelled_at=cancelled_at,
            created_at=created_at,
            file_counts=FileCounts(*(int(n) for n in row[4:])),
        )

    async def cancel_batch(self, store_id: str, batch_id: str) -> BatchRecord | None:
        """Files of the batch not yet done become ``cancelled`` (workers then skip them)."""
        async with self._pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(
                "UPDATE vector_store_file_batches SET cancelled_at = coalesce(cancelled_at, now()) "
                "WHERE id = %s AND vector_store_id = %s",
                (batch_id, store_id),
            )
            if cursor.rowcount == 0:
                return None
            await conn.execute(
                "UPDATE vector_store_files SET status = 'cancelled', updated_at = now() "
                "WHERE batch_id = %s AND status = 'in_progress'",
                (batch_id,),
            )
        return await self.get_batch(store_id, batch_id)


async def _add_one(
    conn: AsyncConnection, store_id: str, item: NewStoreFile, batch_id: str | None
) -> tuple[StoreFileRecord, bool]:
    """The file's record in the store, and whether it was (re)queued."""
    params = {
        "store": store_id,
        "file": item.file_id,
        "batch": batch_id,
        "attributes": Jsonb(item.attributes),
        "type": item.chunking_type,
        "max": item.max_tokens,
        "overlap": item.overlap_tokens,
    }
    row = await (await conn.execute(_ADD, params)).fetchone()
    if row is not None:
        return StoreFileRecord(*row[:-1]), True
    cursor = conn.cursor(row_factory=class_row(StoreFileRecord))
    await cursor.execute(
        f"SELECT {_COLUMNS} FROM vector_store_files "  # noqa: S608 - fixed column list
        "WHERE vector_store_id = %s AND file_id = %s",
        (store_id, item.file_id),
    )
    existing = await cursor.fetchone()
    if existing is None:  # _ADD selects from files: the file is gone
        raise RecordNotFoundError(f"no file with id {item.file_id!r}")
    return existing, False
