"""HybridSearcher on a real Postgres: filters inside the ranking, plans, scores, errors, cache."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import psycopg
import pytest
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from configs import DatabaseSettings, SearchSettings
from ingestion.db import open_pool
from ingestion.errors import EmbeddingMismatchError, RecordNotFoundError
from ingestion.search import (
    HybridSearcher,
    QueryEmbedder,
    SearchRequest,
    parse_filter,
)
from ingestion.search._sql import SearchStatement, build_search_statement
from tests.support.chunks import SeedFile, seed_store

MODEL = "synthetic-384"
BIG, OTHER = "vs_hybrid_big", "vs_hybrid_other"
FILES, PER_FILE, FAR_FILES = 60, 50, 6


class GivenVectors:
    """Query vectors chosen by the test (the searcher's embedder collaborator)."""

    def __init__(self, vectors: dict[str, list[float]]) -> None:
        self.vectors = vectors

    async def embed(self, text: str) -> list[float]:
        return self.vectors[text]


def _unit(rows: np.ndarray) -> np.ndarray:
    normed: np.ndarray = rows / np.linalg.norm(rows, axis=-1, keepdims=True)
    return normed


@pytest.fixture(scope="module")
def query_vector() -> np.ndarray:
    return _unit(np.random.default_rng(1).standard_normal(384))


@pytest.fixture(scope="module")
def stores(search_url: str, query_vector: np.ndarray) -> None:
    """BIG: 3000 chunks in 60 files (group g0..g9); the first six files ("far") lie opposite
    the query. OTHER: 500 chunks of its own."""
    rng = np.random.default_rng(2)
    files = []
    for f in range(FILES):
        far = f < FAR_FILES
        vectors = _unit(rng.standard_normal((PER_FILE, 384)))
        if far:
            vectors = _unit(-query_vector + 0.02 * rng.standard_normal((PER_FILE, 384)))
        texts = [f"chunk {i} of report {f} about quarterly widget sales" for i in range(PER_FILE)]
        if f == 42:
            texts[7] = "the escalation code ZX-9041 is documented only here"
        attributes = {"group": f"g{f % 10}", "region": "far" if far else "near"}
        files.append(
            SeedFile(f"file-h{f:02d}", f"report-{f}.txt", texts, vectors.tolist(), attributes)
        )
    seed_store(search_url, BIG, files, model=MODEL, dimension=384)
    other_vectors = _unit(rng.standard_normal((500, 384)))
    other = [SeedFile("file-o0", "other.txt", ["other store text"] * 500, other_vectors.tolist())]
    seed_store(search_url, OTHER, other, model=MODEL, dimension=384)


def _searcher(
    pool: AsyncConnectionPool, query_vector: np.ndarray, **settings: object
) -> HybridSearcher:
    vectors = GivenVectors({"q": query_vector.tolist(), "ZX-9041": query_vector.tolist()})
    return HybridSearcher(
        pool=pool, vectors=vectors, embedding_model=MODEL, settings=SearchSettings(**settings)
    )


@pytest.mark.usefixtures("stores")
async def test_selective_filter_over_the_index_still_fills_the_page(
    search_pool: AsyncConnectionPool, query_vector: np.ndarray
) -> None:
    searcher = _searcher(search_pool, query_vector, exact_scan_max_chunks=100)
    condition = parse_filter({"type": "eq", "key": "group", "value": "g7"})
    request = SearchRequest((BIG,), "q", 10, filters=condition, mode="vector")
    hits, plan = await searcher.search_with_plan(request)
    assert plan.filtered_chunks == 300
    assert not plan.exact, plan
    assert plan.ef_search > SearchSettings().ef_search  # raised for the 10% selectivity
    assert len(hits) == 10
    assert all(h.attributes["group"] == "g7" for h in hits)


@pytest.mark.usefixtures("stores")
async def test_filter_whose_matches_the_index_misses_falls_back_to_an_exact_scan(
    search_pool: AsyncConnectionPool, query_vector: np.ndarray
) -> None:
    searcher = _searcher(search_pool, query_vector, exact_scan_max_chunks=100)
    condition = parse_filter({"type": "eq", "key": "region", "value": "far"})
    request = SearchRequest((BIG,), "q", 10, filters=condition, mode="vector")
    hits, plan = await searcher.search_with_plan(request)
    assert plan.exact  # the index's candidates near the query held none of them
    assert len(hits) == 10
    assert {h.attributes["region"] for h in hits} == {"far"}


@pytest.mark.usefixtures("stores")
async def test_small_filtered_sets_are_searched_exactly(
    search_pool: AsyncConnectionPool, query_vector: np.ndarray
) -> None:
    searcher = _searcher(search_pool, query_vector)
    condition = parse_filter(
        {
            "type": "and",
            "filters": [
                {"type": "eq", "key": "group", "value": "g3"},
                {"type": "in", "key": "region", "value": ["near"]},
            ],
        }
    )
    hits, plan = await searcher.search_with_plan(SearchRequest((BIG,), "q", 20, filters=condition))
    assert plan.exact
    assert plan.filtered_chunks == 250  # g3 less its one far file
    assert len(hits) == 20
    assert {h.attributes["group"] for h in hits} == {"g3"}


@pytest.mark.usefixtures("stores")
async def test_stores_bound_what_is_found(
    search_pool: AsyncConnectionPool, query_vector: np.ndarray
) -> None:
    searcher = _searcher(search_pool, query_vector)
    only_other = await searcher.search(SearchRequest((OTHER,), "q", 50))
    assert {h.vector_store_id for h in only_other} == {OTHER}
    both = await searcher.search(SearchRequest((BIG, OTHER), "q", 50))
    assert {h.vector_store_id for h in both} == {BIG, OTHER}


@pytest.mark.usefixtures("stores")
async def test_full_text_finds_a_rare_code_and_fusion_ranks_it_first(
    search_pool: AsyncConnectionPool, query_vector: np.ndarray
) -> None:
    searcher = _searcher(search_pool, query_vector)
    text_only = await searcher.search(SearchRequest((BIG,), "ZX-9041", 5, mode="text"))
    assert [h.content for h in text_only] == ["the escalation code ZX-9041 is documented only here"]
    hybrid = await searcher.search(SearchRequest((BIG,), "ZX-9041", 5))
    top = hybrid[0]
    assert (top.text_rank, top.file_id, top.chunk_index) == (1, "file-h42", 7)


@pytest.mark.usefixtures("stores")
async def test_scores_are_normalised_and_thresholded(
    search_pool: AsyncConnectionPool, query_vector: np.ndarray
) -> None:
    searcher = _searcher(search_pool, query_vector)
    hits = await searcher.search(SearchRequest((BIG,), "ZX-9041", 20))
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(0 < s <= 1 for s in scores)
    threshold = (scores[0] + scores[-1]) / 2
    kept = await searcher.search(SearchRequest((BIG,), "ZX-9041", 20, score_threshold=threshold))
    assert 0 < len(kept) < len(hits)
    assert all(h.score >= threshold for h in kept)


@pytest.mark.usefixtures("stores")
async def test_unknown_stores_and_other_embedding_models_are_refused(
    search_pool: AsyncConnectionPool, query_vector: np.ndarray
) -> None:
    searcher = _searcher(search_pool, query_vector)
    with pytest.raises(RecordNotFoundError, match="vs_nope"):
        await searcher.search(SearchRequest((BIG, "vs_nope"), "q", 5))
    other_model = HybridSearcher(
        pool=search_pool,
        vectors=GivenVectors({}),
        embedding_model="another-model",
        settings=SearchSettings(),
    )
    with pytest.raises(EmbeddingMismatchError, match="synthetic-384"):
        await other_model.search(SearchRequest((BIG,), "q", 5))
    # Full text needs no query vector, so any embedder will do.
    assert await other_model.search(SearchRequest((BIG,), "ZX-9041", 5, mode="text"))


@pytest.mark.usefixtures("stores")
def test_the_index_variant_uses_the_partial_hnsw_index(
    search_url: str, query_vector: np.ndarray
) -> None:
    shape = SearchStatement(384, True, True, False, False, "english", None)
    params = {
        "stores": [BIG],
        "text": "widget",
        "vector": "[" + ",".join(str(x) for x in query_vector) + "]",
        "ef_search": 64,
        "vector_candidates": 40,
        "text_candidates": 40,
        "text_match_limit": 100,
        "common": [],
        "vector_weight": 1.0,
        "text_weight": 1.0,
        "rrf_k": 60.0,
        "best_score": 2 / 61,
        "score_threshold": 0.0,
        "limit": 10,
    }
    with psycopg.connect(search_url) as conn:
        conn.execute("SET enable_seqscan = off")  # small table: make cost, not size, decide
        plan = conn.execute(sql.SQL("EXPLAIN ") + build_search_statement(shape), params)
        text = "\n".join(row[0] for row in plan)
    assert "Index Scan using chunks_embedding_384_hnsw" in text


class CountingEmbedder:
    """An embedder that counts its calls (the cache's collaborator)."""

    def __init__(self) -> None:
        self.calls = 0

    @property
    def model_name(self) -> str:
        return "counting"

    @property
    def dimension(self) -> int:
        return 2

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        return [[float(len(t)), 1.0] for t in texts]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(t) for t in texts]


async def test_query_embeddings_are_cached_per_text_for_a_while() -> None:
    now = [0.0]
    embedder = CountingEmbedder()
    cache = QueryEmbedder(embedder, max_entries=2, ttl_s=10, clock=lambda: now[0])
    assert await cache.embed("a") == [1.0, 1.0]
    await cache.embed("a")
    assert embedder.calls == 1
    now[0] = 11.0  # expired
    await cache.embed("a")
    assert embedder.calls == 2
    await cache.embed("bb")
    await cache.embed("ccc")  # evicts "a", the least recently used
    await cache.embed("bb")
    assert embedder.calls == 4
    await cache.embed("a")
    assert embedder.calls == 5
    off = QueryEmbedder(embedder, max_entries=0, ttl_s=10)
    await off.embed("a")
    await off.embed("a")
    assert embedder.calls == 7


@pytest.mark.usefixtures("stores")
async def test_repeated_searches_run_prepared_statements(
    search_url: str, query_vector: np.ndarray
) -> None:
    """Nothing in a search ends with ROLLBACK (psycopg then forgets its prepared statements),
    so from the fifth search on one connection the plan is no longer made per query."""
    settings = DatabaseSettings(pool_min_size=1, pool_max_size=1)
    pool = await open_pool(search_url, settings, application_name="tests-prepared")
    await pool.wait()
    try:
        searcher = _searcher(pool, query_vector)
        for _ in range(8):
            assert await searcher.search(SearchRequest((BIG,), "q", 5))
        async with pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements"
            )
            prepared = await cursor.fetchall()
    finally:
        await pool.close()
    runs = {statement.split()[0]: count for statement, count in prepared}
    assert runs.get("WITH", 0) >= 3, prepared  # the search statement
    assert sum(1 for statement, _ in prepared if "FROM vector_stores" in statement) == 1


@pytest.mark.usefixtures("stores")
async def test_searches_run_generic_plans_that_use_the_hnsw_index(
    search_url: str, query_vector: np.ndarray
) -> None:
    """A custom plan of the search statement costs more to make than to run, so searches run
    the generic one; made without the parameters' values, it must still use the index."""
    settings = DatabaseSettings(pool_min_size=1, pool_max_size=1)
    pool = await open_pool(search_url, settings, application_name="tests-generic")
    await pool.wait()
    try:
        searcher = _searcher(pool, query_vector)
        for _ in range(8):  # psycopg prepares a statement from its fifth run on
            assert await searcher.search(SearchRequest((BIG,), "q", 5))
        async with pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT generic_plans >= 3, custom_plans FROM pg_prepared_statements "
                "WHERE statement LIKE 'WITH%%'"
            )
            plans = await cursor.fetchall()
    finally:
        await pool.close()
    assert plans == [(True, 0)], plans
    shape = SearchStatement(384, True, True, False, False, "english", None)
    text = build_search_statement(shape).as_string(None)
    names: list[str] = []
    for name in re.findall(r"%\((\w+)\)s", text):
        if name not in names:
            names.append(name)
    prepared = re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m.group(1)) + 1}", text)
    with psycopg.connect(search_url) as conn:
        conn.execute("SET enable_seqscan = off")  # small table: make cost, not size, decide
        plan = conn.execute(f"EXPLAIN (GENERIC_PLAN) {prepared}".encode()).fetchall()
    assert "Index Scan using chunks_embedding_384_hnsw" in "\n".join(row[0] for row in plan)


@pytest.mark.usefixtures("stores")
async def test_a_larger_index_is_searched_wider(
    search_pool: AsyncConnectionPool, query_vector: np.ndarray, search_url: str
) -> None:
    with psycopg.connect(search_url, autocommit=True) as conn:
        conn.execute("ANALYZE chunks")
        row = conn.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = 'chunks'::regclass"
        ).fetchone()
    assert row is not None
    indexed = int(row[0])
    assert indexed >= FILES * PER_FILE
    request = SearchRequest((BIG,), "q", 10, mode="vector")

    plans = {}
    for name, steps in (("none", {}), ("below", {indexed + 1: 300})):
        _, plans[name] = await _searcher(
            search_pool, query_vector, exact_scan_max_chunks=100, ef_search_by_size=steps
        ).search_with_plan(request)
    assert not plans["none"].exact
    assert plans["none"].ef_search < 300  # ef_search, raised for the store's share only
    assert plans["below"] == plans["none"]  # the index is smaller than the step

    steps = {indexed // 4: 100, indexed: 300, indexed * 4: 900}  # the width at its own size
    hits, plan = await _searcher(
        search_pool, query_vector, exact_scan_max_chunks=100, ef_search_by_size=steps
    ).search_with_plan(request)
    assert not plan.exact
    assert plan.ef_search == 300
    assert len(hits) == 10


@pytest.mark.parametrize(
    ("chunks", "ef"),
    [
        (0, 40),  # below the smallest size: ef_search itself
        (99_999, 40),
        (100_000, 64),
        (316_228, 282),  # halfway on a log scale: halfway between the widths
        (999_928, 500),  # the estimate a 1M table's statistics gave: no cliff below a size
        (1_000_000, 500),
        (50_000_000, 500),  # beyond the largest size, its width
    ],
)
def test_ef_search_is_read_between_sizes_on_a_log_scale(chunks: int, ef: int) -> None:
    settings = SearchSettings(ef_search=40, ef_search_by_size={100_000: 64, 1_000_000: 500})
    assert settings.ef_search_for(chunks) == ef


def test_ef_search_by_size_never_narrows_ef_search() -> None:
    settings = SearchSettings(ef_search=200, ef_search_by_size={0: 100, 1_000: 150})
    assert [settings.ef_search_for(n) for n in (0, 500, 5_000)] == [200, 200, 200]
    assert SearchSettings(ef_search=10, ef_search_by_size={0: 100}).ef_search_for(5) == 100


def test_a_larger_index_never_gets_a_narrower_search() -> None:
    # a file's step above the defaults' next one: kept up to that size and beyond
    settings = SearchSettings(ef_search_by_size={100_000: 64, 200_000: 300, 300_000: 160})
    widths = [settings.ef_search_for(n) for n in (100_000, 200_000, 250_000, 300_000)]
    assert widths == [64, 300, 300, 300]


@pytest.mark.parametrize("steps", [{-1: 100}, {1000: 0}, {1000: 1001}], ids=str)
def test_ef_search_steps_are_checked(steps: dict[int, int]) -> None:
    with pytest.raises(ValueError, match="ef_search_by_size"):
        SearchSettings(ef_search_by_size=steps)
