"""Older versions of a file in a store, replaced by a newer one with the same filename.

Called by ``ChunkWriter`` inside the transaction that commits the new version's chunks, so a
search sees the old chunks or the new ones, never both and never neither. "Older" is the
order the files were added to the store (``created_at``, then file id): a newer version that
completes first removes the older one still in progress, whose own write then finds its row
gone and drops its work. Versions are told apart by bytes: a file whose bytes an earlier one
already holds is a duplicate (``duplicate_of``), not a replacement.

A replaced file leaves the store (its row and chunks, as ``DELETE
/v1/vector_stores/{id}/files/{file_id}`` does); the file itself stays in the Files API. A
replaced file that other files in the store were duplicates of hands its chunks to the first
of them, which becomes the original of the rest (nothing is embedded twice).
"""

from __future__ import annotations

from typing import Any

from psycopg import Connection

__all__ = ["lock_filename", "replace_older_versions"]

_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('name:' || %(store)s || ':' || %(name)s, 0))"
_OLDER = """
SELECT o.file_id
  FROM vector_store_files AS o
  JOIN files AS fo ON fo.id = o.file_id
  JOIN vector_store_files AS me ON me.vector_store_id = o.vector_store_id
                               AND me.file_id = %(file)s
 WHERE o.vector_store_id = %(store)s AND o.file_id <> %(file)s
   AND fo.filename = %(name)s AND o.sha256 <> %(sha)s
   AND (o.created_at, o.file_id) < (me.created_at, me.file_id)
 ORDER BY o.created_at, o.file_id
   FOR UPDATE OF o
"""
_HEIRS = """
SELECT file_id, duplicate_of FROM vector_store_files
 WHERE vector_store_id = %(store)s AND duplicate_of = ANY(%(replaced)s)
   AND NOT file_id = ANY(%(replaced)s)
 ORDER BY created_at, file_id
   FOR UPDATE
"""
_HAND_OVER = """
WITH old AS (
    SELECT chunks_total, chunks_done, usage_bytes FROM vector_store_files
     WHERE vector_store_id = %(store)s AND file_id = %(old)s
)
UPDATE vector_store_files AS h
   SET duplicate_of = NULL, chunks_total = old.chunks_total, chunks_done = old.chunks_done,
       usage_bytes = old.usage_bytes, updated_at = now()
  FROM old
 WHERE h.vector_store_id = %(store)s AND h.file_id = %(heir)s
"""


def lock_filename(conn: Connection[Any], *, store_id: str, filename: str) -> None:
    """Serialise the writes of one filename's versions in a store (until the transaction
    ends). Taken before the writer locks its own row: a newer version locks the older rows,
    so an older one holding its row while it waited for this lock would deadlock."""
    conn.execute(_LOCK, {"store": store_id, "name": filename})


def replace_older_versions(
    conn: Connection[Any], *, store_id: str, file_id: str, filename: str, sha256: str
) -> list[str]:
    """Remove the older versions of ``filename`` in the store; returns their ids (oldest
    first). Runs in the caller's transaction, after ``lock_filename``."""
    keys = {"store": store_id, "file": file_id, "name": filename, "sha": sha256}
    replaced = [row[0] for row in conn.execute(_OLDER, keys).fetchall()]
    if not replaced:
        return []
    heirs: dict[str, list[str]] = {}  # replaced original -> its duplicates that stay
    for heir, original in conn.execute(_HEIRS, {**keys, "replaced": replaced}).fetchall():
        heirs.setdefault(original, []).append(heir)
    for old, duplicates in heirs.items():
        heir, rest = duplicates[0], duplicates[1:]
        conn.execute(_HAND_OVER, {**keys, "old": old, "heir": heir})
        conn.execute(
            "UPDATE chunks SET file_id = %(heir)s "
            "WHERE vector_store_id = %(store)s AND file_id = %(old)s",
            {**keys, "old": old, "heir": heir},
        )
        if rest:
            conn.execute(
                "UPDATE vector_store_files SET duplicate_of = %(heir)s, updated_at = now() "
                "WHERE vector_store_id = %(store)s AND file_id = ANY(%(rest)s)",
                {**keys, "heir": heir, "rest": rest},
            )
    conn.execute(
        "DELETE FROM vector_store_files WHERE vector_store_id = %(store)s "
        "AND file_id = ANY(%(replaced)s)",
        {**keys, "replaced": replaced},
    )
    return replaced
