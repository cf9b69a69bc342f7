"""``uploads`` and ``upload_parts``: an upload's state moves under its row lock.

``pending`` -> ``completing`` (one request joins the parts) -> ``completed`` (in the File's
own insert transaction), or back to ``pending`` when the completion is refused or fails;
``pending`` -> ``cancelled``; ``pending`` past ``expires_at`` -> ``expired`` (the sweep).
A part is recorded only while its upload is pending and has room for it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import class_row
from psycopg_pool import AsyncConnectionPool

from gateway.api.uploads.protocol import PartRow, UploadRow
from gateway.platform.errors import ConflictError

__all__ = ["NewPart", "UploadRepository"]

_COLUMNS = (
    "id, owner_key_id, filename, purpose, mime_type, bytes, received, status, file_id, "
    "created_at, expires_at, now() AS now"
)
_PART_COLUMNS = "id, upload_id, bytes, sha256, token, created_at"
_INSERT = (
    "INSERT INTO uploads (id, owner_key_id, filename, purpose, mime_type, bytes, expires_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, now() + make_interval(secs => %s)) RETURNING " + _COLUMNS
)
_OPEN = "status = 'pending' AND expires_at > now()"
_CLAIM = f"UPDATE uploads SET status = 'completing', updated_at = now() WHERE id = %s AND {_OPEN}"  # noqa: S608 - fixed text
_CANCEL = f"UPDATE uploads SET status = 'cancelled', updated_at = now() WHERE id = %s AND {_OPEN}"  # noqa: S608 - fixed text
# A completion whose request died (its process killed) gives the upload back after this long.
COMPLETING_LEASE_S = 3600
_EXPIRE = f"""
UPDATE uploads SET status = 'expired', updated_at = now() WHERE id IN (
    SELECT id FROM uploads
     WHERE (status = 'pending' AND expires_at <= now())
        OR (status = 'completing' AND expires_at <= now()
            AND updated_at < now() - make_interval(secs => {COMPLETING_LEASE_S}))
     ORDER BY expires_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
)
"""  # noqa: S608 - fixed text
_REOPEN = f"""
UPDATE uploads SET status = 'pending', updated_at = now()
 WHERE status = 'completing' AND expires_at > now()
   AND updated_at < now() - make_interval(secs => {COMPLETING_LEASE_S})
"""  # noqa: S608 - fixed text
# Only the uploads whose parts are in the caller's storage (their tokens tell).
_ENDED_WITH_PARTS = """
SELECT u.id FROM uploads AS u
 WHERE u.status IN ('completed', 'cancelled', 'expired')
   AND EXISTS (SELECT 1 FROM upload_parts AS p
                WHERE p.upload_id = u.id AND starts_with(p.token, %(tokens)s))
 ORDER BY u.expires_at LIMIT %(limit)s
"""
_PURGE = """
DELETE FROM uploads WHERE id IN (
    SELECT u.id FROM uploads AS u
     WHERE u.status IN ('completed', 'cancelled', 'expired')
       AND u.expires_at < now() - make_interval(secs => %(keep_s)s)
       AND NOT EXISTS (SELECT 1 FROM upload_parts AS p WHERE p.upload_id = u.id)
     ORDER BY u.expires_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
)
"""


@dataclass(frozen=True, slots=True)
class NewPart:
    """A part written to storage, to be recorded."""

    id: str
    bytes: int
    sha256: str
    token: str


class UploadRepository:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def create(
        self,
        upload_id: str,
        *,
        owner_key_id: str | None,
        filename: str,
        purpose: str,
        mime_type: str,
        size: int,
        expires_after_s: int,
        check: Callable[[AsyncConnection[Any]], Awaitable[None]] | None = None,
    ) -> UploadRow:
        """``check``: run first in the insert's transaction (the member quota's)."""
        async with self._pool.connection() as conn, conn.transaction():
            if check is not None:
                await check(conn)
            cursor = conn.cursor(row_factory=class_row(UploadRow))
            await cursor.execute(
                _INSERT,
                (upload_id, owner_key_id, filename, purpose, mime_type, size, expires_after_s),
            )
            row = await cursor.fetchone()
        assert row is not None
        return row

    async def get(self, upload_id: str) -> UploadRow | None:
        async with self._pool.connection() as conn:
            return await _row(conn, upload_id, lock=False)

    async def add_part(
        self, upload_id: str, part: NewPart
    ) -> tuple[UploadRow | None, PartRow | None]:
        """Record ``part`` if the upload is open and has room: (the upload after, the part);
        else (the upload as it is, None) and nothing changes."""
        async with self._pool.connection() as conn, conn.transaction():
            row = await _row(conn, upload_id, lock=True)
            if row is None or not _open(row) or row.received + part.bytes > row.bytes:
                return row, None
            cursor = conn.cursor(row_factory=class_row(PartRow))
            await cursor.execute(
                f"INSERT INTO upload_parts ({_PART_COLUMNS}) VALUES (%s, %s, %s, %s, %s, now()) "  # noqa: S608 - fixed text
                f"RETURNING {_PART_COLUMNS}",
                (part.id, upload_id, part.bytes, part.sha256, part.token),
            )
            recorded = await cursor.fetchone()
            await conn.execute(
                "UPDATE uploads SET received = received + %s, updated_at = now() WHERE id = %s",
                (part.bytes, upload_id),
            )
            return await _row(conn, upload_id, lock=False), recorded

    async def claim(self, upload_id: str) -> bool:
        """``pending`` (and not expired) -> ``completing``: True for the one request that may
        join the parts."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(_CLAIM, (upload_id,))
            return cursor.rowcount == 1

    async def release(self, upload_id: str) -> None:
        """A completion refused or failed: the upload is ``pending`` again."""
        async with self._pool.connection() as conn:
            await conn.execute(
                "UPDATE uploads SET status = 'pending', updated_at = now() "
                "WHERE id = %s AND status = 'completing'",
                (upload_id,),
            )

    def completed(
        self, upload_id: str, file_id: str
    ) -> Callable[[AsyncConnection], Awaitable[None]]:
        """The step, in the File's insert transaction, that marks the upload completed."""

        async def mark(conn: AsyncConnection) -> None:
            cursor = await conn.execute(
                "UPDATE uploads SET status = 'completed', file_id = %s, updated_at = now() "
                "WHERE id = %s AND status = 'completing'",
                (file_id, upload_id),
            )
            if cursor.rowcount != 1:  # the sweep gave it back meanwhile (a lease of an hour)
                raise ConflictError(
                    f"upload {upload_id!r} stopped being completed by this request",
                    param="upload_id",
                    code="upload_not_pending",
                )

        return mark

    async def parts(self, upload_id: str) -> list[PartRow]:
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=class_row(PartRow))
            await cursor.execute(
                f"SELECT {_PART_COLUMNS} FROM upload_parts WHERE upload_id = %s",  # noqa: S608 - fixed text
                (upload_id,),
            )
            return await cursor.fetchall()

    async def cancel(self, upload_id: str) -> UploadRow | None:
        """``pending`` (not expired) -> ``cancelled``; the row after (unchanged otherwise)."""
        async with self._pool.connection() as conn:
            await conn.execute(
                _CANCEL,
                (upload_id,),
            )
            return await _row(conn, upload_id, lock=False)

    async def forget_parts(self, upload_id: str) -> None:
        """The part rows of an upload whose parts storage no longer holds."""
        async with self._pool.connection() as conn:
            await conn.execute("DELETE FROM upload_parts WHERE upload_id = %s", (upload_id,))

    # -- the sweep ------------------------------------------------------------------
    async def expire_due(self, *, limit: int) -> int:
        """Mark uploads past their expiry ``expired`` (and give back stuck completions)."""
        async with self._pool.connection() as conn:
            expired = (await conn.execute(_EXPIRE, {"limit": limit})).rowcount
            await conn.execute(_REOPEN)
        return max(expired, 0)

    async def ended_with_parts(self, *, token_prefix: str, limit: int) -> list[str]:
        """Ended uploads with parts whose tokens begin with ``token_prefix`` (a storage's)."""
        params = {"tokens": token_prefix, "limit": limit}
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(_ENDED_WITH_PARTS, params)).fetchall()
        return [str(row[0]) for row in rows]

    async def purge(self, *, keep_s: int, limit: int) -> int:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(_PURGE, {"keep_s": keep_s, "limit": limit})
        return max(cursor.rowcount, 0)


def _open(row: UploadRow) -> bool:
    return row.status == "pending" and row.expires_at > row.now


async def _row(conn: AsyncConnection, upload_id: str, *, lock: bool) -> UploadRow | None:
    cursor = conn.cursor(row_factory=class_row(UploadRow))
    await cursor.execute(
        f"SELECT {_COLUMNS} FROM uploads WHERE id = %s" + (" FOR UPDATE" if lock else ""),  # noqa: S608 - fixed text
        (upload_id,),
    )
    return await cursor.fetchone()
