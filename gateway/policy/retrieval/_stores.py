"""``StoreSearch``: the vector stores a key may read, searched, for every file_search tool.

Chat's ``RetrievalHook`` and the Responses API's search loop both check the key's collection
allowances the same way and map search failures to the same API errors.
"""

from __future__ import annotations

from typing import Protocol

from configs import RetrievalChatSettings
from gateway.platform.errors import (
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    ServiceUnavailableError,
    embedder_unavailable,
)
from gateway.policy.auth import Principal
from gateway.policy.retrieval._tool import FileSearchTool
from inference.embedders import EmbeddingError
from ingestion.errors import DatabaseUnavailableError, EmbeddingMismatchError, RecordNotFoundError
from ingestion.search import SearchHit, SearchRequest

__all__ = ["Searcher", "StoreNames", "StoreSearch"]


class Searcher(Protocol):
    async def search(self, request: SearchRequest) -> list[SearchHit]: ...


class NamedStore(Protocol):
    @property
    def name(self) -> str | None: ...


class StoreNames(Protocol):
    """Looks a store up, for keys whose grants name stores by name rather than id."""

    async def get(self, store_id: str) -> NamedStore | None: ...


class StoreSearch:
    """Checks and runs the searches of ``file_search`` tools (one per process)."""

    def __init__(
        self, *, searcher: Searcher, stores: StoreNames, settings: RetrievalChatSettings
    ) -> None:
        self._searcher = searcher
        self._stores = stores
        self.settings = settings

    async def check_readable(
        self, principal: Principal, tool: FileSearchTool, *, param: str
    ) -> None:
        """403 unless the key may read every store the tool names (by id or by name)."""
        for store_id in tool.vector_store_ids:
            if principal.may_read_collection(store_id):
                continue
            record = await self._stores.get(store_id)
            if record is not None and record.name and principal.may_read_collection(record.name):
                continue
            raise PermissionDeniedError(
                f"this API key may not read vector store '{store_id}'", param=param
            )

    async def search(self, tool: FileSearchTool, query: str, *, param: str) -> list[SearchHit]:
        """The tool's stores searched for ``query``, best first; failures as API errors."""
        request = SearchRequest(
            store_ids=tool.vector_store_ids,
            query=query,
            max_num_results=tool.max_num_results or self.settings.max_num_results,
            filters=tool.filters,
            score_threshold=tool.score_threshold,
            weights=tool.weights,
        )
        try:
            return await self._searcher.search(request)
        except RecordNotFoundError as exc:
            raise NotFoundError(str(exc), param=param) from exc
        except EmbeddingMismatchError as exc:
            raise InvalidRequestError(
                str(exc), param=param, code="embedding_model_mismatch"
            ) from exc
        except DatabaseUnavailableError as exc:
            raise ServiceUnavailableError("file search is unavailable right now") from exc
        except EmbeddingError as exc:
            raise embedder_unavailable(exc) from exc
