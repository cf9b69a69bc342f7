"""Chat with retrieval: the ``file_search`` tool of chat completions, answered by the gateway."""

from __future__ import annotations

from gateway.policy.retrieval._citations import annotate, cited
from gateway.policy.retrieval._context import Budget, Source, context_message, fit_sources
from gateway.policy.retrieval._hook import CitationHook, RetrievalHook
from gateway.policy.retrieval._ranking import RANKERS, Ranking, parse_ranking_options
from gateway.policy.retrieval._stores import Searcher, StoreNames, StoreSearch
from gateway.policy.retrieval._tool import FileSearchTool, find_file_search, without_file_search

__all__ = [
    "RANKERS",
    "Budget",
    "CitationHook",
    "FileSearchTool",
    "Ranking",
    "RetrievalHook",
    "Searcher",
    "Source",
    "StoreNames",
    "StoreSearch",
    "annotate",
    "cited",
    "context_message",
    "find_file_search",
    "fit_sources",
    "parse_ranking_options",
    "without_file_search",
]
