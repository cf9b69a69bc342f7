"""Thin routes of the Vector Stores API (stores, files in stores, file batches, search)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from gateway.api.http.idempotency import idempotent
from gateway.api.vector_stores._search import SearchService
from gateway.api.vector_stores.protocol import (
    AddFile,
    CreateBatch,
    CreateVectorStore,
    ModifyVectorStore,
    SearchBody,
    UpdateFileAttributes,
    batch_object,
    store_file_object,
    store_object,
)
from gateway.api.vector_stores.serving import VectorStoreService
from gateway.platform.pagination import list_object, page_dependency
from gateway.policy.auth import Principal
from ingestion.collections import PageRequest

__all__ = ["VectorStoresController"]

FileStatusFilter = Literal["in_progress", "completed", "failed", "cancelled"]


def _stores(request: Request[Any, Any, Any]) -> VectorStoreService:
    service: VectorStoreService = request.app.state.collections.vector_stores
    return service


def _search(request: Request[Any, Any, Any]) -> SearchService:
    service: SearchService = request.app.state.collections.search
    return service


class VectorStoresController(Controller):
    path = "/v1/vector_stores"
    tags = ["vector stores"]
    dependencies = {"page": page_dependency()}

    @post("/", summary="Create a vector store", status_code=200, middleware=[idempotent])
    async def create(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        data: JSONBody[CreateVectorStore],
    ) -> dict[str, Any]:
        return store_object(await _stores(request).create(principal, data))

    @get("/", summary="List vector stores", cache=False)
    async def list_stores(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        page: NamedDependency[PageRequest],
    ) -> dict[str, Any]:
        found = await _stores(request).list_page(principal, page)
        return list_object([store_object(r) for r in found.items], found)

    @get("/{store_id:str}", summary="Retrieve a vector store", cache=False)
    async def retrieve(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        store_id: FromPath[str],
    ) -> dict[str, Any]:
        return store_object(await _stores(request).get(principal, store_id))

    @post("/{store_id:str}", summary="Modify a vector store", status_code=200)
    async def modify(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        store_id: FromPath[str],
        data: JSONBody[ModifyVectorStore],
    ) -> dict[str, Any]:
        return store_object(await _stores(request).modify(principal, store_id, data))

    @delete(
        "/{store_id:str}",
        summary="Delete a vector store, its chunks and the files in no other store",
        status_code=200,
    )
    async def remove(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        store_id: FromPath[str],
    ) -> dict[str, Any]:
        await _stores(request).delete(principal, store_id)
        return {"id": store_id, "object": "vector_store.deleted", "deleted": True}

    @post("/{store_id:str}/search", summary="Search a vector store", status_code=200)
    async def search(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        store_id: FromPath[str],
        data: JSONBody[SearchBody],
    ) -> dict[str, Any]:
        return await _search(request).search(principal, store_id, data)

    @post(
        "/{store_id:str}/files",
        summary="Add a file to a vector store",
        status_code=200,
        middleware=[idempotent],
    )
    async def add_file(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        store_id: FromPath[str],
        data: JSONBody[AddFile],
    ) -> dict[str, Any]:
        return store_file_object(await _stores(request).add_file(principal, store_id, data))

    @get("/{store_id:str}/files", summary="List the files of a vector store", cache=False)
    async def list_files(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        store_id: FromPath[str],
        page: NamedDependency[PageRequest],
        status: Annotated[FileStatusFilter | None, QueryParameter(name="filter")] = None,
    ) -> dict[str, Any]:
        found = await _stores(request).list_files(principal, store_id, page, status=status)
        return list_object([store_file_object(r) for r in found.items], found)

    @get("/{store_id:str}/files/{file_id:str}", summary="A file in a vector store", cache=False)
    async def get_file(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        store_id: FromPath[str],
        file_id: FromPath[str],
    ) -> dict[str, Any]:
        return store_file_object(await _stores(request).get_file(principal, store_id, file_id))

    @post(
        "/{store_id:str}/files/{file_id:str}", summary="Update a file's attributes", status_code=200
    )
    async def update_file(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        store_id: FromPath[str],
        file_id: FromPath[str],
        data: JSONBody[UpdateFileAttributes],
    ) -> dict[str, Any]:
        record = await _stores(request).update_file(
            principal, store_id, file_id, dict(data.attributes or {})
        )
        return store_file_object(record)

    @delete(
        "/{store_id:str}/files/{file_id:str}",
        summary="Remove a file from a vector store",
        status_code=200,
    )
    async def remove_file(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        store_id: FromPath[str],
        file_id: FromPath[str],
    ) -> dict[str, Any]:
        await _stores(request).remove_file(principal, store_id, file_id)
        return {"id": file_id, "object": "vector_store.file.deleted", "deleted": True}

    @post(
        "/{store_id:str}/file_batches",
        summary="Add files as a batch",
        status_code=200,
        middleware=[idempotent],
    )
    async def create_batch(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        store_id: FromPath[str],
        data: JSONBody[CreateBatch],
    ) -> dict[str, Any]:
        return batch_object(await _stores(request).create_batch(principal, store_id, data))

    @get("/{store_id:str}/file_batches/{batch_id:str}", summary="A file batch", cache=False)
    async def get_batch(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        store_id: FromPath[str],
        batch_id: FromPath[str],
    ) -> dict[str, Any]:
        return batch_object(await _stores(request).get_batch(principal, store_id, batch_id))

    @post(
        "/{store_id:str}/file_batches/{batch_id:str}/cancel",
        summary="Cancel a file batch",
        status_code=200,
    )
    async def cancel_batch(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        store_id: FromPath[str],
        batch_id: FromPath[str],
    ) -> dict[str, Any]:
        return batch_object(await _stores(request).cancel_batch(principal, store_id, batch_id))

    @get(
        "/{store_id:str}/file_batches/{batch_id:str}/files", summary="Files of a batch", cache=False
    )
    async def list_batch_files(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        store_id: FromPath[str],
        batch_id: FromPath[str],
        page: NamedDependency[PageRequest],
        status: Annotated[FileStatusFilter | None, QueryParameter(name="filter")] = None,
    ) -> dict[str, Any]:
        found = await _stores(request).list_files(
            principal,
            store_id,
            page,
            status=status,
            batch_id=batch_id,
        )
        return list_object([store_file_object(r) for r in found.items], found)
