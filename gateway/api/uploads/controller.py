"""Thin routes of the Uploads API."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from gateway.api.http.idempotency import idempotent
from gateway.api.uploads.protocol import (
    CompleteUpload,
    CreateUpload,
    part_object,
    upload_object,
)
from gateway.api.uploads.serving import UploadService
from gateway.policy.auth import Principal

__all__ = ["UploadsController"]


def _service(request: Request[Any, Any, Any]) -> UploadService:
    service: UploadService = request.app.state.collections.uploads
    return service


class UploadsController(Controller):
    path = "/v1/uploads"
    tags = ["uploads"]

    @post(
        "/",
        summary="Create an upload (a file sent in parts)",
        status_code=200,
        middleware=[idempotent],
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        data: JSONBody[CreateUpload],
    ) -> dict[str, Any]:
        return upload_object(await _service(request).create(principal, data))

    @post(
        "/{upload_id:str}/parts",
        summary="Add a part (multipart: data, at most 64 MiB)",
        status_code=200,
        request_max_body_size=None,  # the serving bounds a part's body
        middleware=[idempotent],
    )
    async def add_part(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        upload_id: FromPath[str],
    ) -> dict[str, Any]:
        part = await _service(request).add_part(
            principal, upload_id, request.headers.get("content-type"), request.stream()
        )
        return part_object(part)

    @post(
        "/{upload_id:str}/complete",
        summary="Complete an upload into a File (part_ids in order, optional md5)",
        status_code=200,
        middleware=[idempotent],
    )
    async def complete(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        upload_id: FromPath[str],
        data: JSONBody[CompleteUpload],
    ) -> dict[str, Any]:
        row, record = await _service(request).complete(principal, upload_id, data)
        return upload_object(row, record)

    @post("/{upload_id:str}/cancel", summary="Cancel an upload", status_code=200)
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        upload_id: FromPath[str],
    ) -> dict[str, Any]:
        return upload_object(await _service(request).cancel(principal, upload_id))
