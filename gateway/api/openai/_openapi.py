"""OpenAPI entries for the endpoint table's raw-ASGI routes (Litestar documents only its
regular handlers). The request schemas are the wire models that check the bodies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import msgspec
from litestar import Litestar
from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    PathItem,
    RequestBody,
    Schema,
)

from gateway.api.openai._serving import Family

__all__ = ["document_api_routes"]

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "param", "code"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
        }
    },
}


def document_api_routes(app: Litestar, families: Sequence[Family] | None = None) -> None:
    """Add the families' POST routes to the app's OpenAPI document (call once at start-up).

    ``families`` defaults to the table the app's ``ApiServices`` serves.
    """
    if families is None:
        families = app.state.api.families
    # Looked up by name: Litestar keeps the class in a private module.
    openapi: OpenAPI = app.plugins.get("OpenAPIPlugin").provide_openapi()
    paths = openapi.paths if openapi.paths is not None else {}
    _, components = msgspec.json.schema_components(
        [family.request_model for family in families], ref_template="#/components/schemas/{name}"
    )
    schemas = openapi.components.schemas if openapi.components.schemas is not None else {}
    for name, schema in components.items():
        schemas[name] = cast(Schema, schema)
    openapi.components.schemas = schemas
    error = OpenAPIMediaType(schema=cast(Schema, _ERROR))
    for family in families:
        content = {"application/json": OpenAPIMediaType(schema=cast(Schema, {"type": "object"}))}
        if family.streams:
            content["text/event-stream"] = OpenAPIMediaType(schema=cast(Schema, {"type": "string"}))
        ref: dict[str, Any] = {"$ref": f"#/components/schemas/{family.request_model.__name__}"}
        paths[family.path] = PathItem(
            post=Operation(
                tags=["openai"],
                summary=family.summary,
                operation_id=family.operation_id,
                request_body=RequestBody(
                    content={"application/json": OpenAPIMediaType(schema=cast(Schema, ref))},
                    required=True,
                ),
                responses={
                    "200": OpenAPIResponse(description=family.description, content=content),
                    "default": OpenAPIResponse(
                        description="An error in OpenAI's shape",
                        content={"application/json": error},
                    ),
                },
            )
        )
    _errors_in_openai_shape(paths, error)
    openapi.paths = paths


def _errors_in_openai_shape(paths: dict[str, PathItem], error: OpenAPIMediaType) -> None:
    """Every documented error answer has OpenAI's shape, as ``gateway.platform.errors`` renders it.

    Litestar documents a 400 in its own ``{status_code, detail, extra}`` shape on every
    handler with parameters; the gateway never answers that way.
    """
    methods = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
    for item in paths.values():
        for method in methods:
            operation: Operation | None = getattr(item, method)
            if operation is None:
                continue
            responses = operation.responses if operation.responses is not None else {}
            for status, response in responses.items():
                if status[:1] in ("4", "5") and isinstance(response, OpenAPIResponse):
                    response.content = {"application/json": error}
            responses.setdefault(
                "default",
                OpenAPIResponse(
                    description="An error in OpenAI's shape", content={"application/json": error}
                ),
            )
            operation.responses = responses
