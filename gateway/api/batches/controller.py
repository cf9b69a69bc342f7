"""Thin routes of the Batch API."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from gateway.api.batches.protocol import CreateBatch, batch_object
from gateway.api.batches.serving import BatchService
from gateway.api.http.idempotency import idempotent
from gateway.platform.pagination import list_object
from gateway.policy.auth import Principal
from ingestion.collections import Page

__all__ = ["BatchesController"]


def _service(request: Request[Any, Any, Any]) -> BatchService:
    service: BatchService = request.app.state.batches
    return service


class BatchesController(Controller):
    path = "/v1/batches"
    tags = ["batches"]

    @post("/", summary="Create a batch", status_code=200, middleware=[idempotent])
    async def create(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        data: JSONBody[CreateBatch],
    ) -> dict[str, Any]:
        return batch_object(await _service(request).create(principal, data))

    @get("/", summary="List batches", cache=False)
    async def list_batches(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        after: Annotated[str | None, QueryParameter(max_length=64)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    ) -> dict[str, Any]:
        rows, has_more = await _service(request).list_page(principal, after=after, limit=limit)
        return list_object([batch_object(row) for row in rows], Page(rows, has_more))

    @get("/{batch_id:str}", summary="Retrieve a batch", cache=False)
    async def retrieve(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        batch_id: FromPath[str],
    ) -> dict[str, Any]:
        return batch_object(await _service(request).get(principal, batch_id))

    @post("/{batch_id:str}/cancel", summary="Cancel a batch", status_code=200)
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        batch_id: FromPath[str],
    ) -> dict[str, Any]:
        return batch_object(await _service(request).cancel(principal, batch_id))
