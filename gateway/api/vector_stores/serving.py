"""The Vector Stores API's logic: stores, files in stores, batches. Built once at start-up."""

from __future__ import annotations

import dataclasses
from typing import Any

import anyio.to_thread

from configs import ChunkingSettings
from gateway.api.files import require_admin
from gateway.api.vector_stores._access import StoreAccess, visible_condition
from gateway.api.vector_stores.protocol import (
    AddFile,
    ChunkingStrategy,
    CreateBatch,
    CreateVectorStore,
    ModifyVectorStore,
)
from gateway.platform.errors import NotFoundError, embedder_unavailable
from gateway.policy.auth import Principal
from inference.embedders import Embedder, EmbeddingError
from ingestion.collections import (
    BatchRecord,
    FileRepository,
    NewStoreFile,
    Page,
    PageRequest,
    StoreFileRecord,
    StoreFileRepository,
    VectorStoreRecord,
    VectorStoreRepository,
    new_id,
)
from ingestion.errors import RecordNotFoundError
from ingestion.storage import ObjectStorage

__all__ = ["VectorStoreService"]

_NO_STORE = "vs_"  # a cursor no store has (ids are "vs_" and 24 characters)


class VectorStoreService:
    """Changes need an admin key; reads need a grant (``StoreAccess``).

    Files queued for ingestion have their jobs staged in the outbox by the repositories,
    in the transaction that queues them: accepted work needs Postgres, not Redis.
    ``storage`` holds the uploaded bytes: deleting a store removes those of the files
    deleted with it (see ``delete``).
    """

    def __init__(
        self,
        *,
        stores: VectorStoreRepository,
        store_files: StoreFileRepository,
        files: FileRepository,
        embedder: Embedder,
        chunking: ChunkingSettings,
        storage: ObjectStorage,
        delete_orphaned_files: bool,
    ) -> None:
        self._stores = stores
        self._storage = storage
        self._delete_orphaned_files = delete_orphaned_files
        self._store_files = store_files
        self._files = files
        self._embedder = embedder
        self._chunking = chunking
        self.access = StoreAccess(stores)

    async def create(self, principal: Principal, body: CreateVectorStore) -> VectorStoreRecord:
        require_admin(principal, "create vector stores")
        model, dimension = await self._embedding_model()
        await self._check_files(body.file_ids)
        record = await self._stores.create(
            store_id=new_id("vs_"),
            owner_key_id=principal.key_id,
            name=body.name,
            metadata=dict(body.metadata or {}),
            embedding_model=model,
            embedding_dimension=dimension,
            expires_after=body.expires_after.model_dump() if body.expires_after else None,
        )
        if body.file_ids:
            news = [self._new_file(f, {}, body.chunking_strategy) for f in body.file_ids]
            await self._add(record.id, news)
            record = await self.access.readable(principal, record.id)
        return record

    async def get(self, principal: Principal, store_id: str) -> VectorStoreRecord:
        return await self.access.readable(principal, store_id)

    async def list_page(self, principal: Principal, page: PageRequest) -> Page[VectorStoreRecord]:
        """The stores ``principal`` may read; a cursor it may not read counts as no store.

        The cursor query positions on any store id, so a foreign cursor would answer
        differently from one that does not exist: it is swapped for an id no store has.
        """
        condition, params = visible_condition(principal)
        cursor = page.after if page.after is not None else page.before
        if cursor is not None and condition is not None:
            try:
                await self.access.readable(principal, cursor)
            except NotFoundError:
                if page.after is not None:
                    page = dataclasses.replace(page, after=_NO_STORE)
                else:
                    page = dataclasses.replace(page, before=_NO_STORE)
        return await self._stores.list_page(page, visible=condition, params=params)

    async def modify(
        self, principal: Principal, store_id: str, body: ModifyVectorStore
    ) -> VectorStoreRecord:
        await self.access.writable(principal, store_id)
        updated = await self._stores.update(
            store_id,
            name=body.name,
            metadata=body.metadata,
            expires_after=body.expires_after.model_dump() if body.expires_after else None,
        )
        if updated is None:
            raise NotFoundError(f"no vector store with id {store_id!r}")
        return updated

    async def delete(self, principal: Principal, store_id: str) -> list[str]:
        """Delete the store and its chunks; returns the ids of the files deleted with it.

        Those are the files in no other store, when ``delete_orphaned_files`` is set (the
        default, ``ingestion.delete_orphaned_files_with_store``); otherwise none, as at
        OpenAI, where files outlive the stores they were in.
        """
        await self.access.writable(principal, store_id)
        deleted = await self._stores.delete(
            store_id,
            with_orphaned_files=self._delete_orphaned_files,
            remove_bytes=self._storage.delete,
        )
        if deleted is None:
            raise NotFoundError(f"no vector store with id {store_id!r}", param="vector_store_id")
        return deleted

    async def add_file(self, principal: Principal, store_id: str, body: AddFile) -> StoreFileRecord:
        await self.access.writable(principal, store_id)
        await self._check_files([body.file_id])
        news = [self._new_file(body.file_id, body.attributes, body.chunking_strategy)]
        return (await self._add(store_id, news))[0]

    async def get_file(self, principal: Principal, store_id: str, file_id: str) -> StoreFileRecord:
        await self.access.readable(principal, store_id)
        record = await self._store_files.get(store_id, file_id)
        if record is None:
            raise NotFoundError(f"file {file_id!r} is not in vector store {store_id!r}")
        return record

    async def list_files(
        self,
        principal: Principal,
        store_id: str,
        page: PageRequest,
        *,
        status: str | None,
        batch_id: str | None = None,
    ) -> Page[StoreFileRecord]:
        await self.access.readable(principal, store_id)
        if batch_id is not None:
            await self.get_batch(principal, store_id, batch_id)
        return await self._store_files.list_page(store_id, page, status=status, batch_id=batch_id)

    async def update_file(
        self, principal: Principal, store_id: str, file_id: str, attributes: dict[str, Any]
    ) -> StoreFileRecord:
        await self.access.writable(principal, store_id)
        record = await self._store_files.update_attributes(store_id, file_id, attributes)
        if record is None:
            raise NotFoundError(f"file {file_id!r} is not in vector store {store_id!r}")
        return record

    async def remove_file(self, principal: Principal, store_id: str, file_id: str) -> None:
        await self.access.writable(principal, store_id)
        if not await self._store_files.remove(store_id, file_id):
            raise NotFoundError(f"file {file_id!r} is not in vector store {store_id!r}")

    async def create_batch(
        self, principal: Principal, store_id: str, body: CreateBatch
    ) -> BatchRecord:
        await self.access.writable(principal, store_id)
        items = body.files or [
            AddFile(file_id=f, attributes=body.attributes) for f in body.file_ids or []
        ]
        await self._check_files([item.file_id for item in items])
        news = [
            self._new_file(
                item.file_id,
                item.attributes if item.attributes is not None else body.attributes,
                item.chunking_strategy or body.chunking_strategy,
            )
            for item in items
        ]
        batch_id = new_id("vsfb_")
        await self._add(store_id, news, batch_id=batch_id)
        return await self.get_batch(principal, store_id, batch_id)

    async def get_batch(self, principal: Principal, store_id: str, batch_id: str) -> BatchRecord:
        await self.access.readable(principal, store_id)
        record = await self._store_files.get_batch(store_id, batch_id)
        if record is None:
            raise NotFoundError(f"no file batch {batch_id!r} in vector store {store_id!r}")
        return record

    async def cancel_batch(self, principal: Principal, store_id: str, batch_id: str) -> BatchRecord:
        await self.access.writable(principal, store_id)
        record = await self._store_files.cancel_batch(store_id, batch_id)
        if record is None:
            raise NotFoundError(f"no file batch {batch_id!r} in vector store {store_id!r}")
        return record

    async def _add(
        self, store_id: str, news: list[NewStoreFile], *, batch_id: str | None = None
    ) -> list[StoreFileRecord]:
        try:
            return await self._store_files.add(store_id, news, batch_id=batch_id)
        except RecordNotFoundError as exc:  # the store or a file was deleted meanwhile
            raise NotFoundError(str(exc)) from exc

    async def _check_files(self, file_ids: list[str]) -> None:
        found = await self._files.get_many(file_ids)
        missing = [f for f in file_ids if f not in found]
        if missing:
            raise NotFoundError(f"no file with id {missing[0]!r}", param="file_id")

    async def _embedding_model(self) -> tuple[str, int]:
        embedder = self._embedder
        try:
            return await anyio.to_thread.run_sync(lambda: (embedder.model_name, embedder.dimension))
        except EmbeddingError as exc:
            raise embedder_unavailable(exc) from exc

    def _new_file(
        self,
        file_id: str,
        attributes: dict[str, Any] | None,
        strategy: ChunkingStrategy | None,
    ) -> NewStoreFile:
        if strategy is not None and strategy.type == "static" and strategy.static is not None:
            return NewStoreFile(
                file_id,
                attributes=dict(attributes or {}),
                chunking_type="static",
                max_tokens=strategy.static.max_chunk_size_tokens,
                overlap_tokens=strategy.static.chunk_overlap_tokens,
            )
        return NewStoreFile(
            file_id,
            attributes=dict(attributes or {}),
            chunking_type="auto",
            max_tokens=self._chunking.auto_max_chunk_size_tokens,
            overlap_tokens=self._chunking.auto_chunk_overlap_tokens,
        )
