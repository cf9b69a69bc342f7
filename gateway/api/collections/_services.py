"""The collection services a gateway process builds once in its lifespan.

The embedder is built on first use (a store's creation or the first search), so a gateway
that serves no collections never loads a model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dramatiq.brokers.redis import RedisBroker
from psycopg_pool import AsyncConnectionPool

from configs import Settings
from gateway.api.files import FilesController, FileService
from gateway.api.vector_stores import SearchService, VectorStoresController, VectorStoreService
from inference.embedders import Embedder, build_embedder
from ingestion.collections import FileRepository, StoreFileRepository, VectorStoreRepository
from ingestion.embedding import LazyEmbedder
from ingestion.queue import IngestionQueue, build_broker
from ingestion.search import HybridSearcher, QueryEmbedder
from ingestion.storage import build_storage

__all__ = ["CollectionServices", "collection_route_handlers"]


def collection_route_handlers() -> list[Any]:
    return [FilesController, VectorStoresController]


@dataclass(slots=True)
class CollectionServices:
    files: FileService
    vector_stores: VectorStoreService
    search: SearchService
    broker: RedisBroker
    searcher: HybridSearcher  # shared with chat retrieval (one embedder, one query cache)
    stores: VectorStoreRepository

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        pool: AsyncConnectionPool,
        redis_url: str,
        embedder_factory: Callable[[], Embedder] | None = None,
    ) -> CollectionServices:
        broker = build_broker(redis_url, settings.worker)
        queue = IngestionQueue(broker, queue_name=settings.ingestion.queue)
        storage = build_storage(settings.ingestion.storage, data_dir=settings.data_dir)
        embedder = LazyEmbedder(
            embedder_factory or (lambda: build_embedder(settings.inference.embedder))
        )
        files = FileRepository(pool)
        stores = VectorStoreRepository(pool)
        vector_stores = VectorStoreService(
            stores=stores,
            store_files=StoreFileRepository(pool),
            files=files,
            queue=queue,
            embedder=embedder,
            chunking=settings.ingestion.chunking,
            storage=storage,
            delete_orphaned_files=settings.ingestion.delete_orphaned_files_with_store,
        )
        retrieval = settings.retrieval
        searcher = HybridSearcher(
            pool=pool,
            vectors=QueryEmbedder(
                embedder,
                max_entries=retrieval.query_cache.max_entries,
                ttl_s=retrieval.query_cache.ttl_s,
            ),
            embedding_model=_embedding_model_name(settings),
            settings=retrieval.search,
        )
        return cls(
            files=FileService(
                files=files,
                storage=storage,
                queue=queue,
                max_upload_bytes=settings.ingestion.max_upload_bytes,
            ),
            vector_stores=vector_stores,
            search=SearchService(access=vector_stores.access, searcher=searcher),
            broker=broker,
            searcher=searcher,
            stores=stores,
        )

    def close(self) -> None:
        self.broker.close()


def _embedding_model_name(settings: Settings) -> str:
    embedder = settings.inference.embedder
    return embedder.model_name if embedder.kind == "local" else embedder.model
