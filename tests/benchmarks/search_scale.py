"""Search at scale: one store of up to 1,000,000 chunks (384-d), 20 searches at a time.

Run: ``python -m tests.benchmarks.search_scale --chunks 1000000`` (``--concurrency``,
``--queries``, ``--exact-queries``, ``--ef-search`` (one run per width given),
``--cache-dir``, ``--shared-buffers``, ``--maintenance-work-mem``, ``--parallel-workers``).
Never in CI: the first run at a size loads the corpus and builds the HNSW index (minutes to
hours on two cores), once. The data stay in an embedded Postgres under ``--cache-dir``
(default ``~/.cache/ragway-bench``, outside the repository), one database per size; later runs
reuse them and print the load and build figures recorded when they were built.

The corpus, the queries and the searcher are those of ``tests.benchmarks.search`` (read its
docstring). What this adds:

- ``--concurrency`` searches in flight at once on a pool of as many connections (closed loop:
  each finished search starts the next), after a warm-up pass; p50 / p99 per search and the
  throughput, for hybrid and for vector-only search;
- recall@10 and 1-recall@10 of the HNSW search against the exact scan on ``--exact-queries``
  of the queries (an exact scan of a million chunks takes about a second each);
- the index's build time and size, and the table's, kept in a ``bench_builds`` table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from configs import DatabaseSettings, SearchSettings
from ingestion.db import migrate, open_pool
from ingestion.search import HybridSearcher, SearchHit, SearchRequest
from tests.benchmarks.search import MODEL, STORE, GivenVectors, load, make_queries

DEFAULT_CACHE = Path.home() / ".cache" / "ragway-bench"
_BUILDS = """CREATE TABLE IF NOT EXISTS bench_builds (
    chunks integer PRIMARY KEY, load_s double precision, build_s double precision,
    maintenance_work_mem text, parallel_workers integer, built_at timestamptz DEFAULT now())"""


def build(
    url: str, chunks: int, *, maintenance_work_mem: str, parallel_workers: int, topic_rank: int = 0
) -> None:
    """Load and index ``chunks`` chunks unless the database holds them; record the timings."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(_BUILDS)
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET max_parallel_maintenance_workers = {}").format(
                sql.Identifier(conn.info.dbname), sql.Literal(parallel_workers)
            )
        )
    timings = load(url, chunks, maintenance_work_mem=maintenance_work_mem, topic_rank=topic_rank)
    if timings is None:
        return
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO bench_builds VALUES (%s, %s, %s, %s, %s) ON CONFLICT (chunks) DO UPDATE "
            "SET load_s = excluded.load_s, build_s = excluded.build_s, "
            "maintenance_work_mem = excluded.maintenance_work_mem, "
            "parallel_workers = excluded.parallel_workers, built_at = now()",
            (chunks, *timings, maintenance_work_mem, parallel_workers),
        )


def sizes(url: str, chunks: int) -> dict[str, Any]:
    """The recorded build, the sizes on disk and the server settings that matter."""
    with psycopg.connect(url) as conn:
        built = conn.execute(
            "SELECT load_s, build_s, maintenance_work_mem, parallel_workers, built_at "
            "FROM bench_builds WHERE chunks = %s",
            (chunks,),
        ).fetchone()
        row = conn.execute(
            "SELECT pg_size_pretty(pg_table_size('chunks')), "
            "pg_size_pretty(pg_relation_size('chunks_embedding_384_hnsw')), "
            "pg_size_pretty(pg_relation_size('chunks_content_tsv_idx')), "
            "current_setting('shared_buffers'), current_setting('work_mem'), "
            "current_setting('effective_cache_size')"
        ).fetchone()
    assert row is not None
    return {"build": built, "table": row[0], "hnsw": row[1], "gin": row[2], "server": row[3:]}


async def _search(searcher: HybridSearcher, text: str, mode: str) -> tuple[float, list[SearchHit]]:
    request = SearchRequest((STORE,), text, 10, mode=mode)  # type: ignore[arg-type]
    started = time.perf_counter()
    hits = await searcher.search(request)
    return (time.perf_counter() - started) * 1000, hits


async def concurrent(
    searcher: HybridSearcher, texts: Sequence[str], mode: str, concurrency: int
) -> tuple[list[float], list[list[SearchHit]], float]:
    """Every text searched, ``concurrency`` at a time; latencies, hits, searches per second."""
    times: list[float] = [0.0] * len(texts)
    results: list[list[SearchHit]] = [[] for _ in texts]
    position = iter(range(len(texts)))

    async def client() -> None:
        for i in position:
            times[i], results[i] = await _search(searcher, texts[i], mode)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return times, results, len(texts) / (time.perf_counter() - started)


def _p(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(
    url: str,
    chunks: int,
    *,
    queries: int,
    exact_queries: int,
    concurrency: int,
    ef_search: int | None = None,
    topic_rank: int = 0,
) -> dict[str, Any]:
    settings = (  # --ef-search: exactly that, not raised by the index's size
        SearchSettings()
        if ef_search is None
        else SearchSettings(ef_search=ef_search, ef_search_by_size={})
    )
    vectors = GivenVectors()
    asked = make_queries(queries, chunks, topic_rank=topic_rank)
    warm = make_queries(queries, chunks, seed=13, topic_rank=topic_rank)
    vectors.vectors.update(asked)
    vectors.vectors.update(warm)
    # the warm-up reads a cold index from disk, 20 searches at once, and the exact scans read
    # the whole table: longer than the default timeouts allow (the timed passes run warm)
    database = DatabaseSettings(
        pool_min_size=concurrency,
        pool_max_size=concurrency,
        statement_timeout_s=600,
        answer_timeout_s=600,
    )
    pool = await open_pool(url, database, application_name="bench-scale")
    await pool.wait()
    report: dict[str, Any] = {}
    try:
        searcher = HybridSearcher(
            pool=pool, vectors=vectors, embedding_model=MODEL, settings=settings
        )
        exact = HybridSearcher(
            pool=pool,
            vectors=vectors,
            embedding_model=MODEL,
            settings=settings.model_copy(update={"exact_scan_max_chunks": 10**9}),
        )
        texts = [text for text, _ in asked]
        for mode in ("hybrid", "vector"):
            await concurrent(searcher, [t for t, _ in warm], mode, concurrency)
        # the width the searcher chose from the table's size estimate (pg_class.reltuples)
        _, plan = await searcher.search_with_plan(SearchRequest((STORE,), texts[0], 10))
        report["ef_search"] = plan.ef_search
        for mode in ("hybrid", "vector"):
            times, results, rate = await concurrent(searcher, texts, mode, concurrency)
            report[mode] = {
                "p50": statistics.median(times),
                "p99": _p(times, 0.99),
                "rate": rate,
                "results": results,
            }
        times, _, _ = await concurrent(searcher, texts, "hybrid", 1)
        report["hybrid_alone"] = {"p50": statistics.median(times), "p99": _p(times, 0.99)}
        truth = [
            hits for _, hits in [await _search(exact, t, "vector") for t in texts[:exact_queries]]
        ]
        approx = report["vector"]["results"][:exact_queries]
        recall = [
            len({h.chunk_id for h in a} & {h.chunk_id for h in t}) / max(1, len(t))
            for a, t in zip(approx, truth, strict=True)
        ]
        report["recall_at_10"] = statistics.mean(recall)
        report["none_found"] = sum(1 for r in recall if r == 0) / max(1, len(recall))
        # 1-recall@10: the true nearest chunk is among the index's ten. In this corpus the
        # nearest is the chunk the query was drawn from; the other nine exact neighbours are
        # topic-mates at nearly equal distances, which recall@10 also asks for.
        report["nearest_found"] = statistics.mean(
            float(bool(t) and t[0].chunk_id in {h.chunk_id for h in a})
            for a, t in zip(approx, truth, strict=True)
        )
        return report
    finally:
        await pool.close()


def _print_build(info: dict[str, Any], chunks: int) -> None:
    build = info["build"]
    if build is not None:
        load_s, build_s, mwm, workers, built_at = build
        print(
            f"built {built_at:%Y-%m-%d %H:%M} UTC: load {load_s:.0f} s "
            f"({chunks / load_s:,.0f} chunks/s), HNSW build {build_s:.0f} s "
            f"({chunks / build_s:,.0f} chunks/s; maintenance_work_mem={mwm}, "
            f"parallel workers={workers})"
        )
    print(
        f"sizes: chunks table {info['table']}, HNSW index {info['hnsw']}, GIN index {info['gin']}"
    )
    shared, work, cache = info["server"]
    print(f"server: shared_buffers={shared}, work_mem={work}, effective_cache_size={cache}")


def _print(report: dict[str, Any], chunks: int, args: Any) -> None:
    print(
        f"\n{chunks} chunks x 384-d, {args.queries} queries, {args.concurrency} in flight, "
        f"ef_search {report['ef_search']}, "
        f"corpus topic_rank {args.topic_rank or 'none (isotropic)'}"
    )
    for name in ("hybrid", "vector"):
        row = report[name]
        print(
            f"{name:<8} p50 {row['p50']:7.2f} ms  p99 {row['p99']:7.2f} ms  "
            f"{row['rate']:7.1f} searches/s"
        )
    alone = report["hybrid_alone"]
    print(f"hybrid, one at a time: p50 {alone['p50']:.2f} ms, p99 {alone['p99']:.2f} ms")
    print(
        f"recall@10 (HNSW vs exact, {args.exact_queries} queries): {report['recall_at_10']:.3f}; "
        f"1-recall@10 (the nearest among the ten): {report['nearest_found']:.3f}; "
        f"queries with none of the ten: {report['none_found']:.0%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--exact-queries", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument(
        "--ef-search",
        type=int,
        nargs="+",
        default=[None],
        help="one run per value (default: retrieval.search.ef_search, raised by ef_search_by_size)",
    )
    parser.add_argument(
        "--topic-rank",
        type=int,
        default=0,
        help="0: chunks spread in every direction around their topic; r: mostly in r of them "
        "(tests.benchmarks.search.make_corpus); each corpus is its own database",
    )
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--shared-buffers", default="6GB")
    parser.add_argument("--maintenance-work-mem", default="4GB")
    parser.add_argument("--parallel-workers", type=int, default=1)
    args = parser.parse_args()
    from gateway.entry.runtime import EmbeddedPostgres

    args.cache_dir.mkdir(parents=True, exist_ok=True)
    postgres = EmbeddedPostgres(args.cache_dir / "postgres")
    database = f"bench_{args.chunks}" + (f"_r{args.topic_rank}" if args.topic_rank else "")
    try:
        url = postgres.start(database=database)
        with psycopg.connect(url, autocommit=True) as conn:
            for name, value in (
                ("shared_buffers", args.shared_buffers),
                ("effective_cache_size", "16GB"),
                ("max_connections", "100"),
            ):
                conn.execute(
                    sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.SQL(name), sql.Literal(value))
                )
        postgres.stop()  # shared_buffers takes effect at the next start
        url = postgres.start(database=database)
        asyncio.run(migrate(url))
        build(
            url,
            args.chunks,
            maintenance_work_mem=args.maintenance_work_mem,
            parallel_workers=args.parallel_workers,
            topic_rank=args.topic_rank,
        )
        _print_build(sizes(url, args.chunks), args.chunks)
        for ef_search in args.ef_search:
            before = os.getloadavg()
            report = asyncio.run(
                measure(
                    url,
                    args.chunks,
                    queries=args.queries,
                    exact_queries=args.exact_queries,
                    concurrency=args.concurrency,
                    ef_search=ef_search,
                    topic_rank=args.topic_rank,
                )
            )
            _print(report, args.chunks, args)
            after = os.getloadavg()
            print(f"load average (1 min) {before[0]:.1f} before, {after[0]:.1f} after", flush=True)
    finally:
        postgres.stop()


if __name__ == "__main__":
    main()
