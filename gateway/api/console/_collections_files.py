"""``/console/collections/{id}``: a store's facts and files, uploads, re-ingest and removal.

The files table is an htmx fragment that polls itself while any file is queued or being
processed and stops once all are settled. Uploads stream: the request body goes straight
into ``FileService.upload`` (as ``POST /v1/files`` does, with Litestar's body limit lifted
and ``ingestion.max_upload_bytes`` enforced while reading), then the file joins the store.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template

from gateway.api.console._collections_view import (
    DESCRIPTION_KEY,
    chunking_of,
    files_view,
    human_bytes,
)
from gateway.api.console._render import fragment, page
from gateway.api.console._services import ConsoleServices
from gateway.api.console._user import ConsoleUser, console_services
from gateway.api.vector_stores.protocol import AddFile

__all__ = ["routes"]

POLL_INTERVAL = "1500ms"


async def _files(services: ConsoleServices, user: ConsoleUser, store_id: str) -> Template:
    view = await files_view(services, user, store_id)
    return fragment(
        "_collections_files.html",
        user,
        store_id=store_id,
        view=view,
        size=human_bytes,
        poll=POLL_INTERVAL,
    )


class CollectionFilesController(Controller):
    path = "/collections/{store_id:str}"
    include_in_schema = False

    @get("/", cache=False)
    async def detail(
        self,
        request: Request[Any, Any, Any],
        user: NamedDependency[ConsoleUser],
        store_id: FromPath[str],
    ) -> Template:
        services = console_services(request)
        store = await services.collections.vector_stores.get(user.principal, store_id)
        view = await files_view(services, user, store_id)
        return page(
            "collections_detail.html",
            user,
            nav="collections",
            store=store,
            store_id=store_id,
            description=store.metadata.get(DESCRIPTION_KEY, ""),
            chunking=chunking_of(store),
            view=view,
            size=human_bytes,
            poll=POLL_INTERVAL,
        )

    @get("/files", cache=False)
    async def files(
        self,
        request: Request[Any, Any, Any],
        user: NamedDependency[ConsoleUser],
        store_id: FromPath[str],
    ) -> Template:
        """The files table alone: what the page polls."""
        return await _files(console_services(request), user, store_id)

    @post("/files", status_code=200, request_max_body_size=None)
    async def upload(
        self,
        request: Request[Any, Any, Any],
        admin: NamedDependency[ConsoleUser],
        store_id: FromPath[str],
    ) -> Template:
        """One file per request (``upload.js`` sends each on its own, a few at a time)."""
        services = console_services(request)
        stores = services.collections.vector_stores
        store = await stores.access.writable(admin.principal, store_id)  # before any byte
        record = await services.collections.files.upload(
            admin.principal, request.headers.get("content-type"), request.stream()
        )
        body = AddFile(file_id=record.id, chunking_strategy=chunking_of(store))
        added = await stores.add_file(admin.principal, store_id, body)
        return fragment("_collections_uploaded.html", admin, file=record, added=added)

    @post("/files/{file_id:str}/reingest", status_code=200)
    async def reingest(
        self,
        request: Request[Any, Any, Any],
        admin: NamedDependency[ConsoleUser],
        store_id: FromPath[str],
        file_id: FromPath[str],
    ) -> Template:
        """Add a failed file again: the service requeues it."""
        services = console_services(request)
        stores = services.collections.vector_stores
        store = await stores.access.writable(admin.principal, store_id)
        current = await stores.get_file(admin.principal, store_id, file_id)
        body = AddFile(
            file_id=file_id, attributes=current.attributes, chunking_strategy=chunking_of(store)
        )
        await stores.add_file(admin.principal, store_id, body)
        return await _files(services, admin, store_id)

    @post("/files/{file_id:str}/remove", status_code=200)
    async def remove(
        self,
        request: Request[Any, Any, Any],
        admin: NamedDependency[ConsoleUser],
        store_id: FromPath[str],
        file_id: FromPath[str],
    ) -> Template:
        """Take the file out of this store (the file itself stays, as at OpenAI)."""
        services = console_services(request)
        await services.collections.vector_stores.remove_file(admin.principal, store_id, file_id)
        return await _files(services, admin, store_id)


def routes() -> list[Any]:
    return [CollectionFilesController]
