"""``POST /v1/vector_stores/{id}/search``: the caller's grant checked, then the searcher runs.

The searcher is a collaborator (``ingestion.search``), so the ranking behind this route can
change without touching the API. ``ranking_options`` mean what they mean in ``file_search``
tools (``parse_ranking_options``); ``rewrite_query`` is a no-op, so ``search_query`` is the
query as the caller gave it.
"""

from __future__ import annotations

from typing import Any, Protocol

from gateway.api.vector_stores._access import StoreAccess
from gateway.api.vector_stores.protocol import SearchBody
from gateway.platform.errors import ConflictError, InvalidRequestError, NotFoundError
from gateway.policy.auth import Principal
from gateway.policy.retrieval import parse_ranking_options
from ingestion.errors import EmbeddingMismatchError, InvalidFilterError, RecordNotFoundError
from ingestion.search import SearchHit, SearchRequest, parse_filter

__all__ = ["SearchService", "Searcher"]


class Searcher(Protocol):
    async def search(self, request: SearchRequest) -> list[SearchHit]: ...


class SearchService:
    def __init__(self, *, access: StoreAccess, searcher: Searcher) -> None:
        self._access = access
        self._searcher = searcher

    async def search(self, principal: Principal, store_id: str, body: SearchBody) -> dict[str, Any]:
        await self._access.readable(principal, store_id)
        query = body.text
        if not query:
            raise InvalidRequestError("query must not be empty", param="query")
        try:
            filters = parse_filter(body.filters) if body.filters is not None else None
        except InvalidFilterError as exc:
            raise InvalidRequestError(str(exc), param="filters", code="invalid_filter") from exc
        ranking = parse_ranking_options(body.ranking_options, param="ranking_options")
        request = SearchRequest(
            store_ids=(store_id,),
            query=query,
            max_num_results=body.max_num_results,
            filters=filters,
            score_threshold=ranking.score_threshold,
            weights=ranking.weights,
        )
        try:
            hits = await self._searcher.search(request)
        except EmbeddingMismatchError as exc:
            raise ConflictError(str(exc), code="embedding_model_mismatch") from exc
        except RecordNotFoundError as exc:
            raise NotFoundError(str(exc), param="vector_store_id") from exc
        return {
            "object": "vector_store.search_results.page",
            "search_query": body.queries,
            "data": [_result(hit) for hit in hits],
            "has_more": False,
            "next_page": None,
        }


def _result(hit: SearchHit) -> dict[str, Any]:
    return {
        "file_id": hit.file_id,
        "filename": hit.filename,
        "score": hit.score,
        "attributes": hit.attributes,
        "content": [{"type": "text", "text": hit.content}],
        "ragway": {
            "chunk_index": hit.chunk_index,
            "page_number": hit.page_number,
            "section": hit.section,
            "ocr": hit.ocr_confidence is not None,
            "ocr_confidence": hit.ocr_confidence,
        },
    }
