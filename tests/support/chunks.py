"""Seed vector stores with chunks directly (for retrieval tests that do not test ingestion).

Writes the same rows the ingestion pipeline writes: a store, files, completed
``vector_store_files`` with ``chunks_total``, and chunks with their embeddings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

__all__ = ["SeedFile", "seed_store"]


@dataclass(frozen=True, slots=True)
class SeedFile:
    """A file and its chunks' texts and vectors (one vector per text)."""

    file_id: str
    filename: str
    texts: Sequence[str]
    vectors: Sequence[Sequence[float]]
    attributes: dict[str, Any] = field(default_factory=dict)


def seed_store(
    url: str,
    store_id: str,
    files: Sequence[SeedFile],
    *,
    model: str,
    dimension: int,
    new_store: bool = True,
) -> dict[int, tuple[str, int]]:
    """Create the store (unless ``new_store`` is false: it exists) with its files; returns
    chunk id -> (file id, chunk index)."""
    ids: dict[int, tuple[str, int]] = {}
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        if new_store:
            cur.execute(
                "INSERT INTO vector_stores (id, name, embedding_model, embedding_dimension) "
                "VALUES (%s, %s, %s, %s)",
                (store_id, store_id, model, dimension),
            )
        for seed in files:
            cur.execute(
                "INSERT INTO files (id, filename, purpose, bytes, sha256) "
                "VALUES (%s, %s, 'assistants', %s, %s) ON CONFLICT (id) DO NOTHING",
                (seed.file_id, seed.filename, sum(len(t) for t in seed.texts), seed.file_id),
            )
            cur.execute(
                "INSERT INTO vector_store_files (vector_store_id, file_id, sha256, status, "
                "attributes, chunking_type, max_chunk_size_tokens, chunk_overlap_tokens, "
                "chunks_total, chunks_done) "
                "VALUES (%s, %s, %s, 'completed', %s, 'auto', 200, 40, %s, %s)",
                (
                    store_id,
                    seed.file_id,
                    seed.file_id,
                    Jsonb(seed.attributes),
                    len(seed.texts),
                    len(seed.texts),
                ),
            )
            for index, (text, vector) in enumerate(zip(seed.texts, seed.vectors, strict=True)):
                cur.execute(
                    "INSERT INTO chunks (vector_store_id, file_id, chunk_index, content, "
                    "embedding, dimension, token_count) "
                    "VALUES (%s, %s, %s, %s, %s::vector, %s, %s) RETURNING id",
                    (
                        store_id,
                        seed.file_id,
                        index,
                        text,
                        _vector_text(vector),
                        len(vector),
                        len(text) // 4 + 1,
                    ),
                )
                row = cur.fetchone()
                assert row is not None
                ids[int(row[0])] = (seed.file_id, index)
        # As autovacuum would soon: full-text search reads the lexeme statistics.
        cur.execute("ANALYZE chunks")
    return ids


def _vector_text(vector: Sequence[float]) -> str:
    return "[" + ",".join(format(float(x), ".8g") for x in vector) + "]"
