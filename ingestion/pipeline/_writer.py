"""The chunk store's write side: one transaction replaces every chunk of a file.

The file's row is locked first and must still be ``in_progress``; the old chunks are
deleted and the new ones copied in, and the row becomes ``completed`` in the same
transaction (with its ``vector_store.file.completed`` webhook event). A retry or a
redelivered message therefore never leaves two copies, and a file cancelled or deleted
meanwhile gets none. Equal bytes already completed in the store make this file a
duplicate instead (no second set of chunks). Older versions of the file's name in the
store (other bytes) are removed in the same transaction (``replace_older_versions``).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from psycopg_pool import ConnectionPool

from ingestion.chunking import Chunk
from ingestion.pipeline._jobs import _MARK_DUPLICATE, _ORIGINAL, Job
from ingestion.pipeline._versions import lock_filename, replace_older_versions
from ingestion.webhooks import WebhookEvents

__all__ = ["ChunkWriter", "WriteOutcome"]

_COPY = (
    "COPY chunks (vector_store_id, file_id, chunk_index, content, embedding, dimension, "
    "token_count, page_number, section, ocr_confidence) FROM STDIN"
)


class WriteOutcome(enum.StrEnum):
    COMPLETED = "completed"
    DUPLICATE = "duplicate"
    STALE = "stale"  # cancelled, failed or deleted while it was being processed


class ChunkWriter:
    """Writes a file's chunks; makes sure each vector dimension in use has its HNSW index."""

    def __init__(self, pool: ConnectionPool, *, events: WebhookEvents) -> None:
        self._pool = pool
        self._events = events
        self._indexed: set[int] = {384}  # migrations 0003/0007 build the default dimension's index

    def ensure_index(self, dimension: int) -> None:
        """A partial HNSW index for vectors of ``dimension`` (idempotent)."""
        if dimension in self._indexed:
            return
        size = int(dimension)
        with self._pool.connection() as conn:
            conn.execute(
                f"CREATE INDEX IF NOT EXISTS chunks_embedding_{size}_hnsw ON chunks "
                f"USING hnsw ((embedding::vector({size})) vector_cosine_ops) "
                f"WITH (m = 16, ef_construction = 128) "  # as migration 0007 builds them
                f"WHERE dimension = {size}"
            )
        self._indexed.add(size)

    def replace(
        self, job: Job, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]
    ) -> WriteOutcome:
        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk")
        keys = {"store": job.store_id, "file": job.file_id, "sha": job.sha256}
        with self._pool.connection() as conn, conn.transaction():
            lock_filename(conn, store_id=job.store_id, filename=job.filename)
            row = conn.execute(
                "SELECT status FROM vector_store_files "
                "WHERE vector_store_id = %(store)s AND file_id = %(file)s FOR UPDATE",
                keys,
            ).fetchone()
            if row is None or row[0] != "in_progress":
                return WriteOutcome.STALE
            # Completions of equal bytes in one store serialise: exactly one is the original.
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%(store)s || ':' || %(sha)s, 0))",
                keys,
            )
            original = conn.execute(_ORIGINAL, keys).fetchone()
            if original is not None:
                conn.execute(_MARK_DUPLICATE, {**keys, "original": original[0]})
                self._events.store_file_finished(conn, job.store_id, job.file_id, "completed")
                return WriteOutcome.DUPLICATE
            replaced = replace_older_versions(
                conn,
                store_id=job.store_id,
                file_id=job.file_id,
                filename=job.filename,
                sha256=job.sha256,
            )
            conn.execute(
                "DELETE FROM chunks WHERE vector_store_id = %(store)s AND file_id = %(file)s", keys
            )
            usage = 0
            with conn.cursor() as cursor, cursor.copy(_COPY) as copy:
                for chunk, vector in zip(chunks, vectors, strict=True):
                    usage += len(chunk.text.encode()) + 4 * len(vector)
                    copy.write_row(
                        (
                            job.store_id,
                            job.file_id,
                            chunk.index,
                            chunk.text.replace("\x00", ""),
                            _vector_text(vector),
                            len(vector),
                            chunk.token_count,
                            chunk.page_number,
                            chunk.section,
                            chunk.ocr_confidence,
                        )
                    )
            conn.execute(
                "UPDATE vector_store_files SET status = 'completed', chunks_total = %(n)s, "
                "chunks_done = %(n)s, usage_bytes = %(usage)s, last_error_code = NULL, "
                "last_error_message = NULL, replaced_file_ids = %(replaced)s, "
                "completed_at = now(), updated_at = now() "
                "WHERE vector_store_id = %(store)s AND file_id = %(file)s",
                {**keys, "n": len(chunks), "usage": usage, "replaced": replaced},
            )
            self._events.store_file_finished(conn, job.store_id, job.file_id, "completed")
        # After the commit: a store row lock taken after the file's row would deadlock
        # with a store deletion, which locks the store first (one statement cannot).
        with self._pool.connection() as conn:
            conn.execute(
                "UPDATE vector_stores SET last_active_at = now() WHERE id = %(store)s", keys
            )
        return WriteOutcome.COMPLETED


def _vector_text(vector: Sequence[float]) -> str:
    return "[" + ",".join(format(x, ".8g") for x in vector) + "]"
