"""The ``files`` table: uploaded files and the content their bytes are stored under."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from psycopg import AsyncConnection, sql
from psycopg.rows import class_row
from psycopg_pool import AsyncConnectionPool

from ingestion.collections._pages import page_clause, to_page
from ingestion.collections._records import FileRecord, Page, PageRequest
from ingestion.collections._stager import IngestionStager

__all__ = ["FileRepository"]

_COLUMNS = "id, owner_key_id, filename, purpose, bytes, sha256, content_type, created_at"
_PROMOTE = """
UPDATE vector_store_files
   SET status = 'in_progress', duplicate_of = NULL, completed_at = NULL, updated_at = now()
 WHERE duplicate_of = %(file)s
RETURNING vector_store_id, file_id
"""


async def content_lock(conn: AsyncConnection, sha256: str) -> None:
    """Serialise storing and removing one content's bytes (held until the transaction ends)."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('content:' || %s, 0))", (sha256,)
    )


class FileRepository:
    def __init__(self, pool: AsyncConnectionPool, *, stager: IngestionStager) -> None:
        self._pool = pool
        self._stager = stager

    async def insert(
        self,
        record: FileRecord,
        *,
        commit_bytes: Callable[[], None],
        check: Callable[[AsyncConnection], Awaitable[None]] | None = None,
    ) -> FileRecord:
        """Insert the row; ``commit_bytes`` makes the staged bytes visible under the same lock
        that deletion takes, so a concurrent delete of equal bytes cannot remove them (it
        blocks -- a disk, or S3 over the network -- so it runs in a thread).

        ``check`` runs first in the insert's transaction (a storage quota: it may take a lock
        held until the commit, and raise to refuse the file)."""
        async with self._pool.connection() as conn, conn.transaction():
            if check is not None:
                await check(conn)
            await content_lock(conn, record.sha256)
            await asyncio.to_thread(commit_bytes)
            cursor = conn.cursor(row_factory=class_row(FileRecord))
            await cursor.execute(
                f"INSERT INTO files ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, now()) "  # noqa: S608 - fixed column list
                f"RETURNING {_COLUMNS}",
                (
                    record.id,
                    record.owner_key_id,
                    record.filename,
                    record.purpose,
                    record.bytes,
                    record.sha256,
                    record.content_type,
                ),
            )
            row = await cursor.fetchone()
        assert row is not None
        return row

    async def get(self, file_id: str) -> FileRecord | None:
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=class_row(FileRecord))
            await cursor.execute(f"SELECT {_COLUMNS} FROM files WHERE id = %s", (file_id,))  # noqa: S608 - fixed column list
            return await cursor.fetchone()

    async def get_many(self, file_ids: list[str]) -> dict[str, FileRecord]:
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=class_row(FileRecord))
            await cursor.execute(
                f"SELECT {_COLUMNS} FROM files WHERE id = ANY(%s)",  # noqa: S608 - fixed column list
                (file_ids,),
            )
            return {row.id: row for row in await cursor.fetchall()}

    async def list_page(
        self, page: PageRequest, *, purpose: str | None = None, owner_key_id: str | None = None
    ) -> Page[FileRecord]:
        condition, order, params, backwards = page_clause(page, table="files")
        where: sql.Composable = condition
        if purpose is not None:
            where = sql.SQL("{} AND files.purpose = %(purpose)s").format(where)
            params["purpose"] = purpose
        if owner_key_id is not None:
            where = sql.SQL("{} AND files.owner_key_id = %(owner)s").format(where)
            params["owner"] = owner_key_id
        query = sql.SQL("SELECT {cols} FROM files WHERE {where} {order}").format(
            cols=sql.SQL(_COLUMNS), where=where, order=order
        )
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=class_row(FileRecord))
            await cursor.execute(query, params)
            rows = await cursor.fetchall()
        return to_page(rows, page.limit, backwards)

    async def delete(self, file_id: str, *, remove_bytes: Callable[[str], None]) -> bool:
        """Delete the file, its place in every store and its chunks (cascade).

        Returns whether it existed. Files in stores that were duplicates of it are queued
        for ingesting themselves, in the same transaction. The bytes go when no other file
        shares them.
        """
        async with self._pool.connection() as conn, conn.transaction():
            row = await (
                await conn.execute("SELECT sha256 FROM files WHERE id = %s", (file_id,))
            ).fetchone()
            if row is None:
                return False
            sha = row[0]
            await content_lock(conn, sha)
            # The row before its places in stores: the order a store's deletion locks them.
            locked = await (
                await conn.execute("SELECT 1 FROM files WHERE id = %s FOR UPDATE", (file_id,))
            ).fetchone()
            if locked is None:
                return False
            promoted = await (await conn.execute(_PROMOTE, {"file": file_id})).fetchall()
            await self._stager.stage(conn, [(store, file) for store, file in promoted])
            await conn.execute("DELETE FROM files WHERE id = %s", (file_id,))
            others = await (
                await conn.execute("SELECT 1 FROM files WHERE sha256 = %s LIMIT 1", (sha,))
            ).fetchone()
            if others is None:
                await asyncio.to_thread(remove_bytes, sha)
        return True
