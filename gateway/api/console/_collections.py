"""``/console/collections``: the vector stores a user may read; admins create and delete them.

The list comes from ``VectorStoreService.list_page``, which already keeps a member to the
stores its key may read; creating and deleting go through the same service as the API
(admin keys only, checked there and by the ``admin`` dependency here).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, post
from litestar import get as get_route
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Response, Template
from pydantic import ValidationError

from gateway.api.console import _collections_files, _collections_search
from gateway.api.console._collections_view import (
    CHUNKING_KEY,
    DESCRIPTION_KEY,
    chunking_tag,
    human_bytes,
    validation_message,
)
from gateway.api.console._render import page
from gateway.api.console._user import ConsoleUser, console_services
from gateway.api.vector_stores.protocol import ChunkingStrategy, CreateVectorStore
from gateway.platform.errors import InvalidRequestError
from ingestion.collections import PageRequest

__all__ = ["routes"]

MAX_STORES = 100
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def create_body(form: dict[str, str]) -> CreateVectorStore:
    """The create form as the API's request body (validated by the API's own model)."""
    name = form.get("name", "").strip()
    if not name:
        raise InvalidRequestError("give the collection a name", param="name")
    description = form.get("description", "").strip()
    strategy: dict[str, Any] = {"type": form.get("chunking", "auto")}
    if strategy["type"] == "static":
        strategy["static"] = {
            "max_chunk_size_tokens": form.get("max_chunk_size_tokens", ""),
            "chunk_overlap_tokens": form.get("chunk_overlap_tokens", ""),
        }
    try:
        chunking = ChunkingStrategy.model_validate(strategy)
        metadata = {CHUNKING_KEY: chunking_tag(chunking)}
        if description:
            metadata[DESCRIPTION_KEY] = description
        return CreateVectorStore(
            name=name,
            description=description or None,
            metadata=metadata,
            chunking_strategy=chunking,
        )
    except ValidationError as exc:
        raise InvalidRequestError(validation_message(exc)) from exc


class CollectionsController(Controller):
    path = "/collections"
    include_in_schema = False

    @get_route("/", cache=False)
    async def list_stores(
        self, request: Request[Any, Any, Any], user: NamedDependency[ConsoleUser]
    ) -> Template:
        services = console_services(request)
        found = await services.collections.vector_stores.list_page(
            user.principal, PageRequest(limit=MAX_STORES, order="desc")
        )
        return page(
            "collections.html",
            user,
            nav="collections",
            stores=found.items,
            more=found.has_more,
            size=human_bytes,
            description_key=DESCRIPTION_KEY,
        )

    @post("/", status_code=303)
    async def create(
        self, request: Request[Any, Any, Any], admin: NamedDependency[ConsoleUser], data: Form
    ) -> Redirect:
        services = console_services(request)
        record = await services.collections.vector_stores.create(admin.principal, create_body(data))
        return Redirect(path=f"/console/collections/{record.id}", status_code=303)

    @post("/{store_id:str}/delete", status_code=200)
    async def delete(
        self,
        request: Request[Any, Any, Any],
        admin: NamedDependency[ConsoleUser],
        store_id: FromPath[str],
    ) -> Response[str]:
        """Delete the store (htmx removes its row: the answer is empty)."""
        await console_services(request).collections.vector_stores.delete(admin.principal, store_id)
        return Response("", media_type="text/html", status_code=200)


def routes() -> list[Any]:
    """This area's controllers, mounted under /console."""
    return [CollectionsController, *_collections_files.routes(), *_collections_search.routes()]
