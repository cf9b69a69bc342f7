"""Hybrid search latency and HNSW recall on 100k chunks (384-d) in one vector store.

Run: ``python -m tests.benchmarks.search`` (``--chunks``, ``--queries``; ``--database-url``
to use an existing, migrated database that it fills once and reuses). Without a URL it
starts an embedded Postgres in a temporary folder (or in ``--data-dir``, kept and reused),
with ``--shared-buffers`` (default 1GB, ``keep`` for pgserver's 128MB) set before the load.
The report prints the server's ``shared_buffers`` and the size of the chunk table and its
indexes: latencies depend on whether they fit (a page Postgres must copy from the OS page
cache costs more than a buffer hit).

The corpus is synthetic but shaped like real embeddings: vectors drawn around 500 topic
centres (cosine to their centre ~0.5), texts of 40 words from a Zipf-distributed vocabulary,
1000 files with attributes. Chunks are loaded with binary COPY and the HNSW index is built
after the load. Queries are vectors near (not equal to) stored chunks plus four of their words.

Before the timed runs, one pass of other queries (another seed) warms the buffers and lets
psycopg prepare the statements, as a serving process's would be.

Reported, all excluding query embedding (the vectors are given):
- p50 / p99 of hybrid search, vector-only search through the index, and a filtered search;
- p50 / p99 of full-text searches of two very common words (each in over 5% of chunks);
- the exact scan of the same queries as the baseline, and the speed-up over it;
- recall@10 of the HNSW search against the exact scan on the same queries.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql

from configs import SearchSettings
from ingestion.db import migrate, open_pool
from ingestion.search import HybridSearcher, SearchRequest, parse_filter

DIMENSION = 384
STORE = "vs_bench"
MODEL = "bench-384"
FILES = 1000
CATEGORIES = 20
VOCABULARY = 20_000
WORDS_PER_CHUNK = 40


class GivenVectors:
    """Query vectors known in advance: the benchmark measures search, not the embedder."""

    def __init__(self) -> None:
        self.vectors: dict[str, list[float]] = {}

    async def embed(self, text: str) -> list[float]:
        return self.vectors[text]


def _unit(rows: np.ndarray) -> np.ndarray:
    normed: np.ndarray = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return normed


def make_corpus(
    chunks: int, seed: int = 7, topic_rank: int = 0
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Vectors, texts and the topic centres they were drawn around.

    ``topic_rank`` 0: each chunk is its centre plus noise in all 384 directions, so topic-mates
    are nearly equidistant (a worst case for HNSW: the local intrinsic dimension is that of the
    space). ``topic_rank`` r: the same spread (cosine to the centre ~0.5), but almost all of it
    in r directions of the topic's own (plus 5% of it in all 384), as real sentence embeddings
    lie near a low-dimensional surface (``tests.benchmarks.embedding_shape`` measures both)."""
    rng = np.random.default_rng(seed)
    centres = _unit(rng.standard_normal((500, DIMENSION)).astype(np.float32))
    topic = rng.integers(0, len(centres), chunks)
    noise = rng.standard_normal((chunks, DIMENSION)).astype(np.float32) * 0.09
    if topic_rank:
        noise *= np.float32(0.05**0.5)  # 5% of the spread's variance in every direction
        scale = np.float32(0.09 * (DIMENSION * 0.95 / topic_rank) ** 0.5)
        bases = rng.standard_normal((len(centres), DIMENSION, topic_rank)).astype(np.float32)
        for t in range(len(centres)):
            members = np.flatnonzero(topic == t)
            basis = np.linalg.qr(bases[t])[0]  # r orthonormal directions of this topic
            spread = rng.standard_normal((len(members), topic_rank)).astype(np.float32)
            noise[members] += (spread * scale) @ basis.T
    vectors = _unit(centres[topic] + noise).astype(np.float32)
    ranks = np.minimum(rng.zipf(1.15, (chunks, WORDS_PER_CHUNK)), VOCABULARY) - 1
    texts = [" ".join(f"w{r}" for r in row) for row in ranks]
    return vectors, texts, centres


def load(
    url: str, chunks: int, *, maintenance_work_mem: str = "2GB", topic_rank: int = 0
) -> tuple[float, float] | None:
    """Fill the database with one store of ``chunks`` chunks, unless it already holds them;
    returns the seconds the load and the HNSW build took (None: already there). The database
    holds one corpus: give each ``topic_rank`` its own."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM chunks WHERE vector_store_id = %s", (STORE,))
        existing = row.fetchone()
        if existing is not None and existing[0] == chunks:
            return None
        register_vector(conn)
        vectors, texts, _ = make_corpus(chunks, topic_rank=topic_rank)
        started = time.perf_counter()
        conn.execute("DELETE FROM vector_stores WHERE id = %s", (STORE,))
        index = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE tablename = 'chunks' AND indexdef LIKE '%%hnsw%%vector(384)%%'"
        ).fetchone()
        assert index is not None, "migration 0003 creates the 384-d HNSW index"
        conn.execute(f'DROP INDEX "{index[0]}"'.encode())
        conn.execute(
            "INSERT INTO vector_stores (id, name, embedding_model, embedding_dimension) "
            "VALUES (%s, 'bench', %s, %s)",
            (STORE, MODEL, DIMENSION),
        )
        per_file = chunks // FILES
        with conn.cursor() as cur:
            for f in range(FILES):
                file_id = f"file-bench-{f:04d}"
                cur.execute(
                    "INSERT INTO files (id, filename, purpose, bytes, sha256) "
                    "VALUES (%s, %s, 'assistants', 0, %s)",
                    (file_id, f"doc-{f:04d}.txt", file_id),
                )
                attributes = psycopg.types.json.Jsonb(
                    {"category": f"c{f % CATEGORIES}", "year": 2000 + f % 25}
                )
                cur.execute(
                    "INSERT INTO vector_store_files (vector_store_id, file_id, sha256, status, "
                    "attributes, chunking_type, max_chunk_size_tokens, chunk_overlap_tokens, "
                    "chunks_total, chunks_done) "
                    "VALUES (%s, %s, %s, 'completed', %s, 'auto', 200, 40, %s, %s)",
                    (STORE, file_id, file_id, attributes, per_file, per_file),
                )
        copy_sql = (
            "COPY chunks (vector_store_id, file_id, chunk_index, content, embedding, "
            "dimension, token_count) FROM STDIN WITH (FORMAT BINARY)"
        )
        with conn.cursor() as cur, cur.copy(copy_sql) as copy:
            copy.set_types(["text", "text", "int4", "text", "vector", "int4", "int4"])
            for i in range(chunks):
                file_id = f"file-bench-{i // per_file:04d}"
                copy.write_row((STORE, file_id, i % per_file, texts[i], vectors[i], DIMENSION, 60))
        loaded = time.perf_counter()
        conn.execute(
            sql.SQL("SET maintenance_work_mem = {}").format(sql.Literal(maintenance_work_mem))
        )
        conn.execute(index[1].encode())
        built = time.perf_counter()
        conn.execute("VACUUM ANALYZE chunks")
        print(
            f"loaded {chunks} chunks in {loaded - started:.1f} s (binary COPY), "
            f"HNSW index built in {built - loaded:.1f} s"
        )
        return loaded - started, built - loaded


def make_queries(
    count: int, chunks: int, seed: int = 11, topic_rank: int = 0
) -> list[tuple[str, list[float]]]:
    """Query texts (four words of a stored chunk) and vectors near that chunk: noise in every
    direction, about half as far from it as the chunk is from its topic's centre."""
    vectors, texts, _ = make_corpus(chunks, topic_rank=topic_rank)
    rng = np.random.default_rng(seed)
    picks = rng.choice(chunks, count, replace=False)
    noise = rng.standard_normal((count, DIMENSION)).astype(np.float32) * 0.05
    near = _unit(vectors[picks] + noise)
    queries = []
    for n, (pick, vector) in enumerate(zip(picks, near, strict=True)):
        words = texts[pick].split()
        text = f"q{n} " + " ".join(words[i] for i in rng.choice(len(words), 4, replace=False))
        queries.append((text, vector.tolist()))
    return queries


def make_common_word_queries(count: int, seed: int = 17) -> list[tuple[str, list[float]]]:
    """Two of the 50 most frequent words each: every word is in more than 5% of chunks."""
    rng = np.random.default_rng(seed)
    pairs = [rng.choice(50, 2, replace=False) for _ in range(count)]
    return [(f"w{a} w{b}", []) for a, b in pairs]


async def _timed(
    queries: list[tuple[str, list[float]]],
    call: Callable[[str], Awaitable[list[Any]]],
) -> tuple[list[float], list[list[Any]]]:
    times: list[float] = []
    results: list[list[Any]] = []
    for text, _ in queries:
        started = time.perf_counter()
        results.append(await call(text))
        times.append((time.perf_counter() - started) * 1000)
    return times, results


def _percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


async def measure(
    url: str, chunks: int, query_count: int, settings: SearchSettings
) -> dict[str, Any]:
    """Run every query through each search variant; latencies in ms and recall@10."""
    exact_settings = settings.model_copy(update={"exact_scan_max_chunks": 10**9})
    vectors = GivenVectors()
    queries = make_queries(query_count, chunks)
    vectors.vectors.update(queries)
    from configs import DatabaseSettings

    pool = await open_pool(url, DatabaseSettings(pool_max_size=2), application_name="bench")
    await pool.wait()
    try:
        searcher = HybridSearcher(
            pool=pool, vectors=vectors, embedding_model=MODEL, settings=settings
        )
        exact = HybridSearcher(
            pool=pool, vectors=vectors, embedding_model=MODEL, settings=exact_settings
        )
        category = parse_filter({"type": "eq", "key": "category", "value": "c3"})

        def run(
            engine: HybridSearcher, mode: str, **extra: Any
        ) -> Callable[[str], Awaitable[list[Any]]]:
            async def call(text: str) -> list[Any]:
                request = SearchRequest((STORE,), text, 10, mode=mode, **extra)  # type: ignore[arg-type]
                return await engine.search(request)

            return call

        warm = make_queries(query_count, chunks, seed=13)
        vectors.vectors.update(warm)
        for mode in ("hybrid", "vector", "text"):
            await _timed(warm, run(searcher, mode))
        await _timed(make_common_word_queries(query_count, seed=19), run(searcher, "text"))
        common = make_common_word_queries(query_count)
        report: dict[str, Any] = {}
        for name, call in (
            ("hybrid", run(searcher, "hybrid")),
            ("vector_hnsw", run(searcher, "vector")),
            ("vector_exact", run(exact, "vector")),
            ("text", run(searcher, "text")),
            ("hybrid_filtered_5pct", run(searcher, "hybrid", filters=category)),
            ("vector_filtered_5pct", run(searcher, "vector", filters=category)),
            ("text_common_words", run(searcher, "text")),
        ):
            asked = common if name == "text_common_words" else queries
            times, results = await _timed(asked, call)
            report[name] = {"p50": _percentiles(times)[0], "p99": _percentiles(times)[1]}
            report[name]["results"] = results
        recall = [
            len({h.chunk_id for h in approx} & {h.chunk_id for h in truth}) / max(1, len(truth))
            for approx, truth in zip(
                report["vector_hnsw"]["results"], report["vector_exact"]["results"], strict=True
            )
        ]
        report["recall_at_10"] = statistics.mean(recall)
        full = [len(r) == 10 for r in report["vector_filtered_5pct"]["results"]]
        report["filtered_full_results"] = sum(full) / len(full)
        return report
    finally:
        await pool.close()


def server_memory(url: str) -> str:
    """The memory settings the figures depend on, and what would have to fit in them."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT current_setting('shared_buffers'), current_setting('work_mem'), "
            "pg_size_pretty(pg_table_size('chunks')), "
            "pg_size_pretty(pg_indexes_size('chunks'))"
        ).fetchone()
    assert row is not None
    return (
        f"server: shared_buffers={row[0]}, work_mem={row[1]}; "
        f"chunks table {row[2]}, its indexes {row[3]}"
    )


def _print(report: dict[str, Any], chunks: int, queries: int) -> None:
    baseline = report["vector_exact"]["p50"]
    print(f"\nsearch over {chunks} chunks x {DIMENSION}-d, {queries} queries (embedding excluded)")
    print(f"{'variant':<24}{'p50 ms':>10}{'p99 ms':>10}{'p50 vs exact':>15}")
    for name, row in report.items():
        if isinstance(row, dict):
            ratio = baseline / row["p50"] if row["p50"] else float("inf")
            print(f"{name:<24}{row['p50']:>10.2f}{row['p99']:>10.2f}{ratio:>14.1f}x")
    print(f"recall@10 of the HNSW search vs the exact scan: {report['recall_at_10']:.3f}")
    print(f"filtered (5%) vector searches returning all 10: {report['filtered_full_results']:.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--database-url", help="an existing database (migrated here)")
    parser.add_argument("--ef-search", type=int, help="default: retrieval.search.ef_search")
    parser.add_argument("--text-match-limit", type=int, help="default: the configured one")
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="embedded server only: keep its data here and reuse the loaded chunks next time",
    )
    parser.add_argument(
        "--shared-buffers",
        default="1GB",
        help="embedded server only: shared_buffers to run with ('keep': pgserver's 128MB)",
    )
    args = parser.parse_args()
    overrides = {
        key: value
        for key, value in (
            ("ef_search", args.ef_search),
            ("text_match_limit", args.text_match_limit),
        )
        if value is not None
    }
    if args.ef_search is not None:  # exactly that, not raised by the index's size
        overrides["ef_search_by_size"] = {}
    settings = SearchSettings(**overrides)
    if args.database_url:
        _bench(args.database_url, args.chunks, args.queries, settings)
        return
    from gateway.entry.runtime import EmbeddedPostgres

    with tempfile.TemporaryDirectory(prefix="ragway-bench-") as folder:
        postgres = EmbeddedPostgres(args.data_dir or Path(folder))
        try:
            url = postgres.start(database="bench")
            if args.shared_buffers != "keep":
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(
                        sql.SQL("ALTER SYSTEM SET shared_buffers = {}").format(
                            sql.Literal(args.shared_buffers)
                        )
                    )
                postgres.stop()  # shared_buffers takes effect at the next start
                url = postgres.start(database="bench")
            _bench(url, args.chunks, args.queries, settings)
        finally:
            postgres.stop()


def _bench(url: str, chunks: int, queries: int, settings: SearchSettings) -> None:
    asyncio.run(migrate(url))
    load(url, chunks)
    print(
        f"settings: ef_search={settings.ef_search}, candidates={settings.vector_candidates}/"
        f"{settings.text_candidates}, text_match_limit={settings.text_match_limit}"
    )
    print(server_memory(url))
    before = os.getloadavg()
    report = asyncio.run(measure(url, chunks, queries, settings))
    _print(report, chunks, queries)
    after = os.getloadavg()
    print(f"load average (1 min) {before[0]:.1f} before, {after[0]:.1f} after the timed runs")


if __name__ == "__main__":
    main()
