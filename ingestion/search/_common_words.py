"""CommonWords: the lexemes in a large share of chunks, which the full-text side leaves out."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg

__all__ = ["CommonWords"]

# ANALYZE samples the lexemes of chunks.content_tsv: the most common ones with their share.
_QUERY = """SELECT coalesce(array_agg(e.lexeme), '{}')
  FROM pg_stats AS s,
       unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs)
           AS e(lexeme, frequency)
 WHERE s.schemaname = current_schema() AND s.tablename = 'chunks'
   AND s.attname = 'content_tsv' AND e.lexeme IS NOT NULL AND e.frequency > %s"""


class CommonWords:
    """Query words found in more than ``fraction`` of all chunks (per ANALYZE statistics).

    Such words rank nothing and would make the full-text side read most chunks. Reading them
    from ``pg_stats`` costs about as much as the rest of the text search, and they change only
    when ANALYZE runs, so they are kept for ``ttl_s`` and re-read in the pipeline of the search
    that finds them stale (no round trip of their own).
    """

    def __init__(
        self, *, fraction: float, ttl_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._fraction = fraction
        self._ttl_s = ttl_s
        self._clock = clock
        self._words: list[str] = []
        self._read_at: float | None = None

    async def request(self, conn: psycopg.AsyncConnection[Any]) -> psycopg.AsyncCursor[Any] | None:
        """Send the statistics query when the words are stale; ``None`` when they are fresh."""
        if self._read_at is not None and self._clock() - self._read_at < self._ttl_s:
            return None
        return await conn.execute(_QUERY, (self._fraction,))

    async def words(self, pending: psycopg.AsyncCursor[Any] | None) -> list[str]:
        """The common words, from ``pending`` (``request``'s cursor) when it was sent."""
        if pending is not None:
            row = await pending.fetchone()
            self._words = list(row[0]) if row is not None else []
            self._read_at = self._clock()
        return self._words
