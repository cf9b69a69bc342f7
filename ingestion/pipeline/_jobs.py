"""The worker's view of a file in a store: claim it, report progress, fail it.

Synchronous (Dramatiq actors run in threads); every statement is guarded by
``status = 'in_progress'`` so a cancelled, deleted or finished file is never touched again.
A file that ends (completed as a duplicate, failed) records its webhook event in the same
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg_pool import ConnectionPool

from ingestion.webhooks import WebhookEvents

__all__ = ["Job", "JobStore"]

_CLAIM = """
UPDATE vector_store_files AS vsf
   SET attempts = vsf.attempts + 1, updated_at = now()
  FROM files AS f, vector_stores AS vs
 WHERE vsf.vector_store_id = %(store)s AND vsf.file_id = %(file)s
   AND vsf.status = 'in_progress'
   AND f.id = vsf.file_id AND vs.id = vsf.vector_store_id
RETURNING f.filename, f.bytes, vsf.sha256, vs.embedding_model, vs.embedding_dimension,
          vsf.max_chunk_size_tokens, vsf.chunk_overlap_tokens, vsf.attempts
"""
_ORIGINAL = """
SELECT file_id FROM vector_store_files
 WHERE vector_store_id = %(store)s AND sha256 = %(sha)s AND file_id <> %(file)s
   AND status = 'completed' AND duplicate_of IS NULL
 ORDER BY created_at LIMIT 1
"""
_MARK_DUPLICATE = """
UPDATE vector_store_files
   SET status = 'completed', duplicate_of = %(original)s, chunks_total = 0, chunks_done = 0,
       usage_bytes = 0, last_error_code = NULL, last_error_message = NULL,
       completed_at = now(), updated_at = now()
 WHERE vector_store_id = %(store)s AND file_id = %(file)s AND status = 'in_progress'
"""


@dataclass(frozen=True, slots=True)
class Job:
    """What ingesting one file into one store needs to know."""

    store_id: str
    file_id: str
    filename: str
    size: int
    sha256: str
    embedding_model: str
    embedding_dimension: int
    max_chunk_size_tokens: int
    chunk_overlap_tokens: int
    attempt: int


class JobStore:
    """Status transitions of ``vector_store_files`` rows, as the worker makes them."""

    def __init__(self, pool: ConnectionPool, *, events: WebhookEvents) -> None:
        self._pool = pool
        self._events = events

    def claim(self, store_id: str, file_id: str) -> Job | None:
        """The job if the file still waits for ingestion; None if done, cancelled or gone."""
        keys = {"store": store_id, "file": file_id}
        with self._pool.connection() as conn:
            row = conn.execute(_CLAIM, keys).fetchone()
        if row is None:
            return None
        filename, size, sha, model, dimension, max_tokens, overlap, attempt = row
        return Job(
            store_id, file_id, filename, size, sha, model, dimension, max_tokens, overlap, attempt
        )

    def mark_if_duplicate(self, job: Job) -> str | None:
        """If another file in the store already holds these bytes, complete this one as its
        duplicate (no chunks of its own) and return the original's id."""
        keys = {"store": job.store_id, "file": job.file_id, "sha": job.sha256}
        with self._pool.connection() as conn, conn.transaction():
            row = conn.execute(_ORIGINAL, keys).fetchone()
            if row is None:
                return None
            if conn.execute(_MARK_DUPLICATE, {**keys, "original": row[0]}).rowcount == 1:
                self._events.store_file_finished(conn, job.store_id, job.file_id, "completed")
        original: str = row[0]
        return original

    def set_total(self, job: Job, total: int) -> bool:
        """False when the file is no longer waiting (deleted, cancelled): drop the work."""
        return self._update(job, "chunks_total = %(n)s, chunks_done = 0", total)

    def progress(self, job: Job, done: int) -> bool:
        """False when the file is no longer waiting (deleted, cancelled): drop the work."""
        return self._update(job, "chunks_done = %(n)s", done)

    def is_pending(self, store_id: str, file_id: str) -> bool:
        """Whether the file is still in its store and waiting for ingestion."""
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT 1 FROM vector_store_files WHERE vector_store_id = %s AND file_id = %s "
                "AND status = 'in_progress'",
                (store_id, file_id),
            ).fetchone()
        return row is not None

    def note_error(self, store_id: str, file_id: str, code: str, message: str) -> None:
        """Remember a transient error: it becomes ``last_error`` if retries run out."""
        with self._pool.connection() as conn:
            conn.execute(
                "UPDATE vector_store_files SET last_error_code = %s, last_error_message = %s, "
                "updated_at = now() WHERE vector_store_id = %s AND file_id = %s "
                "AND status = 'in_progress'",
                (code, message[:2000], store_id, file_id),
            )

    def fail(
        self, store_id: str, file_id: str, code: str | None = None, message: str | None = None
    ) -> bool:
        """Final failure; without code/message, the last noted error (or a generic one)."""
        with self._pool.connection() as conn, conn.transaction():
            cursor = conn.execute(
                "UPDATE vector_store_files SET status = 'failed', "
                "last_error_code = COALESCE(%(code)s, last_error_code, 'server_error'), "
                "last_error_message = COALESCE(%(message)s, last_error_message, "
                "'ingestion failed'), updated_at = now() "
                "WHERE vector_store_id = %(store)s AND file_id = %(file)s "
                "AND status = 'in_progress'",
                {"code": code, "message": message, "store": store_id, "file": file_id},
            )
            if cursor.rowcount != 1:
                return False
            self._events.store_file_finished(conn, store_id, file_id, "failed")
            return True

    def count_by_status(self) -> dict[str, float]:
        """Files in vector stores by status (for the metrics endpoint)."""
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT status, count(*) FROM vector_store_files GROUP BY status"
            ).fetchall()
        counts = dict.fromkeys(("in_progress", "completed", "failed", "cancelled"), 0.0)
        counts.update({status: float(n) for status, n in rows})
        return counts

    def _update(self, job: Job, assignment: str, n: int) -> bool:
        with self._pool.connection() as conn:
            cursor = conn.execute(
                f"UPDATE vector_store_files SET {assignment}, updated_at = now() "  # noqa: S608 - assignment is one of two fixed strings
                "WHERE vector_store_id = %(store)s AND file_id = %(file)s "
                "AND status = 'in_progress'",
                {"n": n, "store": job.store_id, "file": job.file_id},
            )
            return cursor.rowcount == 1
