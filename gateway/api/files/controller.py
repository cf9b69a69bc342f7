"""Thin routes of the Files API."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Stream

from gateway.api.files.protocol import file_deleted, file_object
from gateway.api.files.serving import FileService
from gateway.api.http.idempotency import idempotent
from gateway.platform.pagination import list_object, page_dependency
from gateway.policy.auth import Principal
from ingestion.collections import PageRequest

__all__ = ["FilesController"]


def _service(request: Request[Any, Any, Any]) -> FileService:
    service: FileService = request.app.state.collections.files
    return service


class FilesController(Controller):
    path = "/v1/files"
    tags = ["files"]
    dependencies = {"page": page_dependency()}

    @post(
        "/",
        summary="Upload a file (multipart: file, purpose)",
        request_max_body_size=None,
        middleware=[idempotent],
    )
    async def upload(
        self, request: Request[Any, Any, Any], principal: NamedDependency[Principal]
    ) -> Response[dict[str, Any]]:
        record = await _service(request).upload(
            principal, request.headers.get("content-type"), request.stream()
        )
        return Response(file_object(record), status_code=200)

    @get("/", summary="List files", cache=False)
    async def list_files(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        page: NamedDependency[PageRequest],
        purpose: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        found = await _service(request).list_page(principal, page, purpose)
        return list_object([file_object(r) for r in found.items], found)

    @get("/{file_id:str}", summary="Retrieve a file", cache=False)
    async def retrieve(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        file_id: FromPath[str],
    ) -> dict[str, Any]:
        return file_object(await _service(request).get(principal, file_id))

    @get(
        "/{file_id:str}/content",
        summary="The file's bytes (or a 307 to a short-lived URL of them, on S3 with "
        "presign_downloads)",
        cache=False,
    )
    async def content(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        file_id: FromPath[str],
    ) -> Response[Any]:
        body = await _service(request).content(principal, file_id)
        if isinstance(body, str):
            return Redirect(body, status_code=307)
        return Stream(body, media_type="application/octet-stream")

    @delete("/{file_id:str}", summary="Delete a file, its chunks and its bytes", status_code=200)
    async def remove(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        file_id: FromPath[str],
    ) -> dict[str, Any]:
        await _service(request).delete(principal, file_id)
        return file_deleted(file_id)
