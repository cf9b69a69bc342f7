"""The OpenAI Vector Stores API: document collections, their files, batches and search."""

from __future__ import annotations

from gateway.api.vector_stores._search import Searcher, SearchService
from gateway.api.vector_stores.controller import VectorStoresController
from gateway.api.vector_stores.serving import VectorStoreService

__all__ = ["SearchService", "Searcher", "VectorStoreService", "VectorStoresController"]
