"""Thin routes of stored responses: retrieve (or resume a background stream), delete,
cancel a background one, and list a response's input items."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter
from litestar.response import Stream

from gateway.api.openai.responses._background import BackgroundStore
from gateway.api.openai.responses._store import ResponseStore
from gateway.platform.errors import NotFoundError
from gateway.platform.pagination import list_object, page_dependency
from gateway.policy.auth import Principal
from ingestion.collections import PageRequest

__all__ = ["ResponsesController"]


def _store(request: Request[Any, Any, Any]) -> ResponseStore:
    store: ResponseStore = request.app.state.responses
    return store


def _background(request: Request[Any, Any, Any]) -> BackgroundStore:
    store: BackgroundStore = request.app.state.background_responses
    return store


def _not_found(response_id: str) -> NotFoundError:
    return NotFoundError(f"Response with id '{response_id}' not found.", param="response_id")


class ResponsesController(Controller):
    path = "/v1/responses"
    tags = ["responses"]
    dependencies = {"page": page_dependency()}

    @get("/{response_id:str}", summary="Retrieve a stored response", cache=False)
    async def retrieve(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        response_id: FromPath[str],
        stream: bool = Parameter(default=False, description="resume a background stream"),
        starting_after: int = Parameter(
            default=-1, ge=-1, description="the sequence_number after which events resume"
        ),
    ) -> dict[str, Any] | Stream:
        if stream:
            frames = await _background(request).follow(
                response_id, principal=principal, after=starting_after
            )
            return Stream(
                frames,
                media_type="text/event-stream",
                headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
            )
        found = await _store(request).get(response_id, principal=principal)
        if found is None:
            raise _not_found(response_id)
        return found

    @post("/{response_id:str}/cancel", summary="Cancel a background response", status_code=200)
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        response_id: FromPath[str],
    ) -> dict[str, Any]:
        return await _background(request).cancel(response_id, principal=principal)

    @delete("/{response_id:str}", summary="Delete a stored response", status_code=200)
    async def remove(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        response_id: FromPath[str],
    ) -> dict[str, Any]:
        if not await _store(request).delete(response_id, principal=principal):
            raise _not_found(response_id)
        return {"id": response_id, "object": "response", "deleted": True}

    @get("/{response_id:str}/input_items", summary="A stored response's input items", cache=False)
    async def input_items(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        page: NamedDependency[PageRequest],
        response_id: FromPath[str],
    ) -> dict[str, Any]:
        found = await _store(request).input_items(response_id, principal=principal, page=page)
        if found is None:
            raise _not_found(response_id)
        return list_object(found.items, found)
