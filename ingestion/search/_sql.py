"""The SQL of a hybrid search: one statement whose CTEs rank by vector and by text, then fuse.

- ``allowed``: the files of the searched stores that pass the attribute filter (only built
  when there is a filter); both sides keep only chunks of those files, inside their own
  ranking, so a filter never shortens the result after the limit.
- ``vec``: nearest chunks by cosine distance. Through the HNSW index the ORDER BY must be the
  indexed expression ``embedding::vector(D) <=> q::vector(D)`` under ``dimension = D`` (the
  partial index's predicate); the exact variant orders by ``embedding <=> q``, which no index
  matches, so Postgres compares every chunk left after the store and filter conditions.
  Without pgvector's iterative scan (< 0.8) the index variant over-fetches ``ef_search``
  candidates and filters those; with it, the conditions sit in the index query itself.
- ``txt``: chunks matching any query word, ranked by ``ts_rank`` (word frequency; cover density,
  ``ts_rank_cd``, cost twice as much and ranked the labelled set no better) plus one for chunks
  that match the whole ``websearch_to_tsquery`` (every word, quoted phrases, ``-not``).
- ``fused``: reciprocal rank fusion, ``w / (k + rank)`` per side, normalised to [0, 1].

The statement always returns at least one row (``ResultRow``): the first column counts what
``vec`` found (so the caller can tell an index scan that came back short), the hit columns are
NULL when nothing matched.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from ingestion.search._filters import CompiledFilter

__all__ = ["SearchStatement", "build_plan_statement", "build_search_statement"]


@dataclass(frozen=True, slots=True)
class SearchStatement:
    """The shape of one search; the values travel as parameters."""

    dimension: int
    use_vector: bool
    use_text: bool
    exact: bool
    iterative: bool
    text_config: str
    condition: CompiledFilter | None


_ALLOWED = """allowed AS MATERIALIZED (
    SELECT f.vector_store_id, f.file_id FROM vector_store_files AS f
     WHERE f.vector_store_id = ANY(%(stores)s) AND f.status = 'completed' AND {condition}
)"""
_SCOPE = "AND (c.vector_store_id, c.file_id) IN (SELECT vector_store_id, file_id FROM allowed)"
_VEC = """vec AS (
    SELECT id, row_number() OVER (ORDER BY distance, id) AS rank FROM (
        SELECT c.id, {distance} AS distance FROM chunks AS c
         WHERE c.dimension = {dimension} AND c.vector_store_id = ANY(%(stores)s) {scope}
         ORDER BY {distance} LIMIT %(vector_candidates)s
    ) AS nearest
)"""
# pgvector < 0.8: the index yields at most ef_search chunks, so take exactly that many from it
# (the inner query has nothing but the index's own predicate, so Postgres must use the index)
# and apply the stores and the filter to them; the caller sized ef_search for the selectivity.
_VEC_OVERFETCH = """vec AS (
    SELECT id, row_number() OVER (ORDER BY distance, id) AS rank FROM (
        SELECT c.id, c.distance FROM (
            SELECT c.id, c.vector_store_id, c.file_id, {distance} AS distance FROM chunks AS c
             WHERE c.dimension = {dimension}
             ORDER BY {distance} LIMIT %(ef_search)s
        ) AS c
         WHERE c.vector_store_id = ANY(%(stores)s) {scope}
         ORDER BY c.distance LIMIT %(vector_candidates)s
    ) AS nearest
)"""
# The loose query ORs the query's lexemes, leaving out %(common)s, those the planner's
# statistics say occur in a large share of all chunks: such words rank nothing and would make
# the side read most chunks (see CommonWords). A query of only common words matches with the
# strict query (every word, as websearch_to_tsquery reads it): ORed, they would match nearly
# every chunk, and only an arbitrary %(text_match_limit)s of those would be ranked.
_WORDS = """words AS (
    SELECT q.strict,
           coalesce(
               (SELECT string_agg(quote_literal(l), ' | ') FROM unnest(q.lexemes) AS l
                 WHERE l <> ALL(%(common)s::text[]))::tsquery,
               CASE WHEN numnode(q.strict) > 0 THEN q.strict END
           ) AS loose
      FROM (SELECT websearch_to_tsquery({config}, %(text)s) AS strict,
                   tsvector_to_array(to_tsvector({config}, %(text)s)) AS lexemes) AS q
)"""
# Chunks matching the loose query are ranked at most %(text_match_limit)s at a time: a query of
# only common words would otherwise rank a large part of the store.
_TXT = """txt AS (
    SELECT id, row_number() OVER (ORDER BY relevance DESC, id) AS rank FROM (
        SELECT m.id,
               ts_rank(m.content_tsv, w.loose, 32) + (m.content_tsv @@ w.strict)::int
                   AS relevance
          FROM (
              SELECT c.id, c.content_tsv FROM chunks AS c, words AS w
               WHERE c.content_tsv @@ w.loose AND c.vector_store_id = ANY(%(stores)s) {scope}
               LIMIT %(text_match_limit)s
          ) AS m, words AS w
         ORDER BY relevance DESC, m.id LIMIT %(text_candidates)s
    ) AS matched
)"""
_FUSED_BOTH = """fused AS (
    SELECT coalesce(v.id, t.id) AS id, v.rank AS vector_rank, t.rank AS text_rank,
           (coalesce(%(vector_weight)s / (%(rrf_k)s + v.rank), 0)
            + coalesce(%(text_weight)s / (%(rrf_k)s + t.rank), 0)) / %(best_score)s AS score
      FROM vec AS v FULL JOIN txt AS t ON t.id = v.id
)"""
_FUSED_VECTOR = """fused AS (
    SELECT v.id, v.rank AS vector_rank, NULL::bigint AS text_rank,
           %(vector_weight)s / (%(rrf_k)s + v.rank) / %(best_score)s AS score
      FROM vec AS v
)"""
_FUSED_TEXT = """fused AS (
    SELECT t.id, NULL::bigint AS vector_rank, t.rank AS text_rank,
           %(text_weight)s / (%(rrf_k)s + t.rank) / %(best_score)s AS score
      FROM txt AS t
)"""
# Only the best %(limit)s fused chunks are joined to their rows, files and attributes (a side's
# candidates that miss the page are never read again). The file's name and attributes are
# scalar subqueries, so a generic plan (which cannot know the limit) still looks up those few
# rows by key instead of hashing the whole files tables.
_RESULT = """SELECT found.vector_found, hit.*
  FROM (SELECT {vector_found} AS vector_found) AS found
  LEFT JOIN LATERAL (
    SELECT top.id, c.vector_store_id, c.file_id,
           (SELECT fl.filename FROM files AS fl WHERE fl.id = c.file_id) AS filename,
           c.chunk_index, c.content, top.score,
           (SELECT vsf.attributes FROM vector_store_files AS vsf
             WHERE vsf.vector_store_id = c.vector_store_id AND vsf.file_id = c.file_id)
               AS attributes,
           top.vector_rank, top.text_rank, c.page_number, c.section, c.ocr_confidence
      FROM (
          SELECT id, vector_rank, text_rank, score FROM fused
           WHERE score >= %(score_threshold)s
           ORDER BY score DESC, id
           LIMIT %(limit)s
      ) AS top
      JOIN chunks AS c ON c.id = top.id
     ORDER BY top.score DESC, top.id
  ) AS hit ON true"""


def build_search_statement(shape: SearchStatement) -> sql.Composed:
    """The hybrid (or one-sided) search statement for ``shape``."""
    scope = sql.SQL(_SCOPE if shape.condition is not None else "")
    ctes: list[sql.Composable] = []
    if shape.condition is not None:
        ctes.append(sql.SQL(_ALLOWED).format(condition=shape.condition.clause))
    if shape.use_vector:
        template = _VEC if shape.exact or shape.iterative else _VEC_OVERFETCH
        ctes.append(
            sql.SQL(template).format(
                distance=_distance(shape), dimension=sql.Literal(shape.dimension), scope=scope
            )
        )
    if shape.use_text:
        config = sql.Literal(shape.text_config)
        ctes.append(sql.SQL(_WORDS).format(config=config))
        ctes.append(sql.SQL(_TXT).format(scope=scope))
    ctes.append(sql.SQL(_fused(shape)))
    vector_found = "(SELECT count(*) FROM vec)" if shape.use_vector else "0::bigint"
    return sql.SQL("WITH {ctes}\n{result}").format(
        ctes=sql.SQL(",\n").join(ctes),
        result=sql.SQL(_RESULT).format(vector_found=sql.SQL(vector_found)),
    )


def _distance(shape: SearchStatement) -> sql.Composable:
    if shape.exact:
        return sql.SQL("c.embedding <=> %(vector)s::vector")
    cast = sql.SQL("::vector({})").format(sql.Literal(shape.dimension))
    return sql.SQL("c.embedding{cast} <=> %(vector)s{cast}").format(cast=cast)


def _fused(shape: SearchStatement) -> str:
    if shape.use_vector and shape.use_text:
        return _FUSED_BOTH
    return _FUSED_VECTOR if shape.use_vector else _FUSED_TEXT


_PLAN = """SELECT s.id, s.embedding_model, s.embedding_dimension,
       coalesce((SELECT sum(f.chunks_total) FROM vector_store_files AS f
                  WHERE f.vector_store_id = s.id AND f.status = 'completed'
                    AND {condition}), 0)::bigint AS filtered_chunks,
       (SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = 'chunks'::regclass)
           AS total_chunks
  FROM vector_stores AS s
 WHERE s.id = ANY(%(stores)s)"""


def build_plan_statement(condition: CompiledFilter | None) -> sql.Composed:
    """Per store (``PlanRow``): its embedding model and dimension, and how many chunks pass
    the filter; plus the planner's estimate of all chunks (for the filter's selectivity)."""
    clause = condition.clause if condition is not None else sql.SQL("true")
    return sql.SQL(_PLAN).format(condition=clause)
