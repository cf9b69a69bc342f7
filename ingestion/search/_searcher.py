"""HybridSearcher: plans and runs one hybrid search over the chunks of some vector stores."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Any, Protocol

import psycopg
from pgvector import Vector
from psycopg import sql
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from configs import SearchSettings
from ingestion.db import DatabaseCapabilities, detect_capabilities
from ingestion.errors import DatabaseUnavailableError, EmbeddingMismatchError, RecordNotFoundError
from ingestion.metrics import trace_exemplar
from ingestion.search._common_words import CommonWords
from ingestion.search._filters import CompiledFilter, compile_filter
from ingestion.search._metrics import SEARCH_SECONDS
from ingestion.search._rows import PlanRow, ResultRow, named_row
from ingestion.search._sql import SearchStatement, build_plan_statement, build_search_statement
from ingestion.search._types import SearchHit, SearchRequest

__all__ = ["HybridSearcher", "QueryVectors", "SearchPlan"]

_FILTER_COLUMN = sql.SQL("f.attributes")
MAX_EF_SEARCH = 1000  # pgvector's upper bound for hnsw.ef_search
_PLAN_ROWS = named_row(PlanRow)
_RESULT_ROWS = named_row(ResultRow)


class QueryVectors(Protocol):
    """Turns a query into the vector the stores were embedded for (e.g. ``QueryEmbedder``)."""

    async def embed(self, text: str) -> list[float]:
        """The normalised query vector."""


@dataclass(frozen=True, slots=True)
class SearchPlan:
    """How one search runs: which index use and how far it looks. Exposed for tests/benchmarks."""

    dimension: int
    filtered_chunks: int
    total_chunks: int
    exact: bool
    ef_search: int
    iterative: bool


class HybridSearcher:
    """Vector (pgvector HNSW, cosine) and full-text (Postgres) search fused in one statement.

    Built once per process with the pool (a read replica's, if any), the query embedder and the
    settings. The stores' permissions are the caller's business (pass only readable store
    ids); attribute filters are applied inside both rankings. With pgvector < 0.8 an HNSW scan
    cannot look past ``ef_search`` candidates, so a filtered search raises ``ef_search`` by the
    filter's selectivity, searches small filtered sets exactly, and repeats a search exactly
    when the index came back with fewer chunks than exist.
    """

    def __init__(
        self,
        *,
        pool: AsyncConnectionPool,
        vectors: QueryVectors,
        embedding_model: str,
        settings: SearchSettings,
        primary_pool: AsyncConnectionPool | None = None,
    ) -> None:
        self._pool = pool
        self._primary_pool = primary_pool
        self._vectors = vectors
        self._embedding_model = embedding_model
        self._settings = settings
        self._capabilities: DatabaseCapabilities | None = None
        self._statements: dict[SearchStatement, bytes] = {}  # unfiltered shapes, composed once
        self._common_words = CommonWords(
            fraction=settings.text_common_fraction, ttl_s=settings.text_statistics_ttl_s
        )

    async def search(self, request: SearchRequest) -> list[SearchHit]:
        """The best chunks for the request, best first (at most ``max_num_results``)."""
        started = time.perf_counter()
        hits, _ = await self.search_with_plan(request)
        SEARCH_SECONDS.labels(request.mode).observe(time.perf_counter() - started, trace_exemplar())
        return hits

    async def search_with_plan(self, request: SearchRequest) -> tuple[list[SearchHit], SearchPlan]:
        """``search`` plus the plan it ran with (the last one, after an exact retry).

        With ``pool`` a read replica and ``primary_pool`` its primary, a store the replica does
        not have yet (created moments ago) is searched on the primary; 404 only if neither has it.
        """
        try:
            return await self._search_on(self._pool, request)
        except RecordNotFoundError:
            if self._primary_pool is None:
                raise
            return await self._search_on(self._primary_pool, request)

    async def _search_on(
        self, pool: AsyncConnectionPool, request: SearchRequest
    ) -> tuple[list[SearchHit], SearchPlan]:
        use_vector, use_text = self._sides(request)
        condition = None
        if request.filters is not None:
            condition = compile_filter(request.filters, _FILTER_COLUMN)
        try:
            async with pool.connection() as conn:
                # One transaction in a pipeline, two round trips: BEGIN, the SET LOCALs and
                # the plan query (with the common words when stale); then the search and
                # COMMIT, whose results the pipeline's end brings back together. It ends with
                # COMMIT: a ROLLBACK would make psycopg drop its prepared statements.
                async with conn.pipeline(), conn.transaction():
                    await _set_local(conn, "plan_cache_mode", "force_generic_plan")
                    pending = await self._common_words.request(conn) if use_text else None
                    plan = await self._plan(conn, request, condition, use_vector=use_vector)
                    if plan.filtered_chunks == 0:
                        return [], plan
                    common = await self._common_words.words(pending) if use_text else []
                    vector = await self._vectors.embed(request.query) if use_vector else None
                    shape = SearchStatement(
                        dimension=plan.dimension,
                        use_vector=use_vector,
                        use_text=use_text,
                        exact=plan.exact,
                        iterative=plan.iterative,
                        text_config=self._settings.text_search_config,
                        condition=condition,
                    )
                    params = self._params(request, plan, condition, vector, common)
                    cursor = await self._send(conn, shape, plan, params)
                found, hits = await _read(cursor)
                wanted = min(params["vector_candidates"], plan.filtered_chunks)
                if use_vector and not plan.exact and found < wanted:
                    # The index came back short (a filter its candidates missed): again, exactly.
                    plan = replace(plan, exact=True, iterative=False)
                    async with conn.pipeline(), conn.transaction():
                        await _set_local(conn, "plan_cache_mode", "force_generic_plan")
                        exact = replace(shape, exact=True, iterative=False)
                        cursor = await self._send(conn, exact, plan, params)
                    _, hits = await _read(cursor)
                return hits, plan
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise DatabaseUnavailableError(f"search failed: {exc}") from exc

    def _sides(self, request: SearchRequest) -> tuple[bool, bool]:
        vector_weight, text_weight = self._weights(request)
        return vector_weight > 0, text_weight > 0

    def _weights(self, request: SearchRequest) -> tuple[float, float]:
        """(vector, text) weights: one side alone, the request's, or the configured ones."""
        if request.mode == "vector":
            return 1.0, 0.0
        if request.mode == "text":
            return 0.0, 1.0
        if request.weights is not None:
            return request.weights.vector, request.weights.text
        return self._settings.vector_weight, self._settings.text_weight

    async def _plan(
        self,
        conn: psycopg.AsyncConnection[Any],
        request: SearchRequest,
        condition: CompiledFilter | None,
        *,
        use_vector: bool,
    ) -> SearchPlan:
        if self._capabilities is None:
            self._capabilities = await detect_capabilities(conn)
        params: dict[str, Any] = {"stores": list(request.store_ids)}
        if condition is not None:
            params.update(condition.params)
        cursor = conn.cursor(row_factory=_PLAN_ROWS)
        await cursor.execute(build_plan_statement(condition), params)
        rows = await cursor.fetchall()
        missing = set(request.store_ids) - {row.id for row in rows}
        if missing:
            raise RecordNotFoundError(f"no vector store with id {sorted(missing)[0]!r}")
        models = {(row.embedding_model, row.embedding_dimension) for row in rows}
        if len(models) > 1:
            raise EmbeddingMismatchError(
                "the stores searched together must share one embedding model and dimension"
            )
        model, dimension = models.pop()
        if use_vector and model != self._embedding_model:
            raise EmbeddingMismatchError(
                f"the store was embedded with {model!r}, the query embedder is "
                f"{self._embedding_model!r}"
            )
        filtered = int(sum(row.filtered_chunks for row in rows))
        total = int(rows[0].total_chunks) if rows else 0
        return self._choose(dimension, filtered, total, request)

    def _choose(
        self, dimension: int, filtered: int, total: int, request: SearchRequest
    ) -> SearchPlan:
        settings = self._settings
        candidates = max(settings.vector_candidates, request.max_num_results)
        base_ef = min(MAX_EF_SEARCH, max(settings.ef_search_for(total), candidates))
        iterative = self._capabilities is not None and self._capabilities.iterative_index_scan
        if filtered <= settings.exact_scan_max_chunks:
            return SearchPlan(dimension, filtered, total, True, base_ef, iterative)
        selectivity = filtered / total if 0 < filtered < total else 1.0
        if iterative:
            return SearchPlan(dimension, filtered, total, False, base_ef, True)
        needed = math.ceil(candidates / selectivity * settings.overfetch_factor)
        if selectivity < 1.0 and needed > MAX_EF_SEARCH:
            return SearchPlan(dimension, filtered, total, True, base_ef, False)
        ef = min(MAX_EF_SEARCH, max(base_ef, needed if selectivity < 1.0 else base_ef))
        return SearchPlan(dimension, filtered, total, False, ef, False)

    def _params(
        self,
        request: SearchRequest,
        plan: SearchPlan,
        condition: CompiledFilter | None,
        vector: list[float] | None,
        common: list[str],
    ) -> dict[str, Any]:
        settings = self._settings
        vector_weight, text_weight = self._weights(request)
        best = vector_weight + text_weight
        params: dict[str, Any] = {
            "stores": list(request.store_ids),
            "text": request.query,
            "vector": Vector(vector) if vector is not None else None,
            "vector_candidates": max(settings.vector_candidates, request.max_num_results),
            "ef_search": plan.ef_search,
            "text_candidates": max(settings.text_candidates, request.max_num_results),
            "text_match_limit": settings.text_match_limit,
            "common": common,
            "vector_weight": vector_weight,
            "text_weight": text_weight,
            "rrf_k": float(settings.rrf_k),
            "best_score": best / (settings.rrf_k + 1),
            "score_threshold": request.score_threshold,
            "limit": request.max_num_results,
        }
        if condition is not None:
            params.update(condition.params)
        return params

    async def _send(
        self,
        conn: psycopg.AsyncConnection[Any],
        shape: SearchStatement,
        plan: SearchPlan,
        params: dict[str, Any],
    ) -> psycopg.AsyncCursor[ResultRow]:
        """Queue the search (and its index settings) in the pipeline; read it with ``_read``."""
        statement = self._statement(conn, shape)
        if shape.use_vector and not shape.exact:
            await _set_local(conn, "hnsw.ef_search", str(plan.ef_search))
            if plan.iterative:
                await _set_local(conn, "hnsw.iterative_scan", "relaxed_order")
                await _set_local(conn, "hnsw.max_scan_tuples", str(self._settings.max_scan_tuples))
        cursor = conn.cursor(row_factory=_RESULT_ROWS)
        return await cursor.execute(statement, params)

    def _statement(
        self, conn: psycopg.AsyncConnection[Any], shape: SearchStatement
    ) -> bytes | sql.Composed:
        if shape.condition is not None:
            return build_search_statement(shape)
        statement = self._statements.get(shape)
        if statement is None:
            statement = self._statements[shape] = build_search_statement(shape).as_bytes(conn)
        return statement


async def _read(cursor: psycopg.AsyncCursor[ResultRow]) -> tuple[int, list[SearchHit]]:
    """How many chunks the vector side found, and the hits."""
    rows = await cursor.fetchall()
    found = int(rows[0].vector_found) if rows else 0
    return found, [hit for row in rows if (hit := _hit(row)) is not None]


async def _set_local(conn: psycopg.AsyncConnection[Any], name: str, value: str) -> None:
    # set_config(..., true) is SET LOCAL with a bind parameter: it ends with the transaction.
    await conn.execute("SELECT set_config(%s, %s, true)", (name, value))


def _hit(row: ResultRow) -> SearchHit | None:
    """The row's hit; None for the one row of a search that found nothing."""
    if row.id is None:
        return None
    return SearchHit(
        chunk_id=int(row.id),
        vector_store_id=row.vector_store_id,
        file_id=row.file_id,
        filename=row.filename,
        chunk_index=int(row.chunk_index),
        content=row.content,
        score=float(row.score),
        attributes=dict(row.attributes or {}),
        vector_rank=int(row.vector_rank) if row.vector_rank is not None else None,
        text_rank=int(row.text_rank) if row.text_rank is not None else None,
        page_number=row.page_number,
        section=row.section,
        ocr_confidence=row.ocr_confidence,
    )
