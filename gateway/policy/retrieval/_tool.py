"""The ``file_search`` tool entry of a chat request: parsed, checked, and taken out of the body.

The entry has the Responses API shape (``{"type": "file_search", "vector_store_ids": [...],
"max_num_results": 8, "filters": {...}, "ranking_options": {"score_threshold": 0.2}}``;
``ranking_options`` as ``parse_ranking_options`` reads them).
Upstreams do not know it, so the gateway answers it itself and forwards the request without
it; other tools stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.platform.errors import InvalidRequestError
from gateway.policy.retrieval._ranking import parse_ranking_options
from ingestion.errors import InvalidFilterError
from ingestion.search import AttributeFilter, HybridWeights, parse_filter

__all__ = ["FileSearchTool", "find_file_search", "without_file_search"]

TOOL_TYPE = "file_search"
MAX_STORES = 10
MAX_RESULTS = 50
_FIELDS = {"type", "vector_store_ids", "max_num_results", "filters", "ranking_options"}


@dataclass(frozen=True, slots=True)
class FileSearchTool:
    """What one ``file_search`` entry asks for."""

    vector_store_ids: tuple[str, ...]
    max_num_results: int | None
    filters: AttributeFilter | None
    score_threshold: float
    weights: HybridWeights | None = None  # ranking_options.hybrid_search


def find_file_search(body: dict[str, Any]) -> FileSearchTool | None:
    """The request's ``file_search`` entry (None without one); bad entries raise 400."""
    tools = body.get("tools")
    if not isinstance(tools, list):
        return None
    found = [
        (i, t) for i, t in enumerate(tools) if isinstance(t, dict) and t.get("type") == TOOL_TYPE
    ]
    if not found:
        return None
    if len(found) > 1:
        raise InvalidRequestError("at most one file_search tool per request", param="tools")
    index, entry = found[0]
    return _parse(entry, f"tools[{index}]")


def _parse(entry: dict[str, Any], param: str) -> FileSearchTool:
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        raise InvalidRequestError(f"unknown field '{unknown[0]}' in file_search", param=param)
    ids = entry.get("vector_store_ids")
    if (
        not isinstance(ids, list)
        or not ids
        or len(ids) > MAX_STORES
        or not all(isinstance(i, str) and i for i in ids)
    ):
        raise InvalidRequestError(
            f"vector_store_ids must list 1 to {MAX_STORES} vector store ids",
            param=f"{param}.vector_store_ids",
        )
    limit = entry.get("max_num_results")
    if limit is not None and (
        not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_RESULTS
    ):
        raise InvalidRequestError(
            f"max_num_results must be an integer from 1 to {MAX_RESULTS}",
            param=f"{param}.max_num_results",
        )
    filters = None
    if entry.get("filters") is not None:
        try:
            filters = parse_filter(entry["filters"], param=f"{param}.filters")
        except InvalidFilterError as exc:
            raise InvalidRequestError(
                str(exc), param=f"{param}.filters", code="invalid_filter"
            ) from exc
    ranking = parse_ranking_options(entry.get("ranking_options"), param=f"{param}.ranking_options")
    return FileSearchTool(
        vector_store_ids=tuple(dict.fromkeys(ids)),
        max_num_results=limit,
        filters=filters,
        score_threshold=ranking.score_threshold,
        weights=ranking.weights,
    )


def without_file_search(body: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``body`` without the file_search entry (and tool settings that need tools)."""
    copy = dict(body)
    kept = [t for t in body.get("tools") or () if not _is_file_search(t)]
    if kept:
        copy["tools"] = kept
    else:
        copy.pop("tools", None)
        copy.pop("parallel_tool_calls", None)  # OpenAI refuses it without tools
        copy.pop("tool_choice", None)
    if _is_file_search(copy.get("tool_choice")):
        copy.pop("tool_choice")
    return copy


def _is_file_search(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == TOOL_TYPE
