"""What a member key may keep stored: bytes and files (``files.member_max_*``); admins: no cap.

A key's files are all those it owns: its uploads and its batches' output files. Its open
uploads (``/v1/uploads``, pending or completing, not expired) hold the bytes they declared
until they end, so parts cannot fill storage past the limit while they wait. Exactness
under concurrent uploads comes from the check in the insert's transaction, under a per-key
advisory lock held until the commit: the second of two uploads counts the first one's row.
The check before the body is read, and the one on the bytes as they arrive, only refuse
early (a full key writes nothing; an upload stops at the room left).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from configs import FileSettings
from gateway.platform.errors import GatewayError, InvalidRequestError, PayloadTooLargeError
from gateway.policy.auth import Principal

__all__ = ["MemberQuota", "QuotaCheck"]

QuotaCheck = Callable[[AsyncConnection[Any]], Awaitable[None]]

_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('file-quota:' || %s, 0))"
_USAGE = (
    "SELECT (SELECT count(*) FROM files WHERE owner_key_id = %(key)s), "
    "(SELECT coalesce(sum(bytes), 0) FROM files WHERE owner_key_id = %(key)s) "
    "+ (SELECT coalesce(sum(bytes), 0) FROM uploads WHERE owner_key_id = %(key)s "
    "AND status IN ('pending', 'completing') AND expires_at > now() AND id <> %(upload)s)"
)


class MemberQuota:
    """Built once with the pool; ``room`` before an upload, ``check`` in its insert."""

    def __init__(self, pool: AsyncConnectionPool[Any], settings: FileSettings) -> None:
        self._pool = pool
        self._max_bytes = settings.member_max_bytes_per_key
        self._max_files = settings.member_max_files_per_key

    async def room(self, principal: Principal, *, upload_id: str = "") -> int | None:
        """Bytes the key may still store (None: an admin, no cap); a full key is refused.
        ``upload_id``: an upload being completed, whose own reservation is not counted."""
        key_id = _member(principal)
        if key_id is None:
            return None
        async with self._pool.connection() as conn:
            files, stored = await _usage(conn, key_id, upload_id)
        self._refuse(files, stored, None)
        return self._max_bytes - stored

    def too_large(self, size: int, room: int) -> GatewayError:
        """The refusal of an upload seen to be ``size`` bytes when ``room`` was left."""
        return self._over_bytes(self._max_bytes - room, size)

    def check(self, principal: Principal, size: int, *, upload_id: str = "") -> QuotaCheck | None:
        """The exact check of a ``size``-byte file (or upload), for the insert's transaction;
        ``upload_id``: the upload it completes (its reservation becomes the file)."""
        key_id = _member(principal)
        if key_id is None:
            return None

        async def check(conn: AsyncConnection[Any]) -> None:
            await conn.execute(_LOCK, (key_id,))
            files, stored = await _usage(conn, key_id, upload_id)
            self._refuse(files, stored, size)

        return check

    def _refuse(self, files: int, stored: int, size: int | None) -> None:
        """``size``: of the file to add (None: not known yet, the key must have room)."""
        if files >= self._max_files:
            raise InvalidRequestError(
                f"this key keeps {files} files, its limit (files.member_max_files_per_key is "
                f"{self._max_files}); delete files it no longer needs to upload more",
                param="file",
                code="file_limit_exceeded",
            )
        if stored + (size or 0) > self._max_bytes or (size is None and stored >= self._max_bytes):
            raise self._over_bytes(stored, size)

    def _over_bytes(self, stored: int, size: int | None) -> GatewayError:
        adding = "" if size is None else f" and this file has {size}"
        return PayloadTooLargeError(
            f"this key keeps {stored} bytes of files{adding}: its limit is {self._max_bytes} "
            "bytes (files.member_max_bytes_per_key); delete files it no longer needs to "
            "upload more",
            param="file",
            code="storage_limit_exceeded",
        )


def _member(principal: Principal) -> str | None:
    return None if principal.is_admin else principal.key_id


async def _usage(conn: AsyncConnection[Any], key_id: str, upload_id: str = "") -> tuple[int, int]:
    """The key's files, and their bytes plus those its open uploads declared."""
    cursor = await conn.execute(_USAGE, {"key": key_id, "upload": upload_id})
    row = await cursor.fetchone()
    assert row is not None  # an aggregate always returns a row
    return int(row[0]), int(row[1])
