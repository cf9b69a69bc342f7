"""Thin routes: each hands the HTTP exchange to its serving object (built at start-up)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, asgi, get
from litestar.params import FromPath
from litestar.types import Receive, Scope, Send

from gateway.api._services import ApiServices
from gateway.api.models.protocol import Model, ModelList

__all__ = ["ModelsController", "api_route_handlers"]


def _services(scope: Scope) -> ApiServices:
    services: ApiServices = scope["litestar_app"].state.api
    return services


@asgi("/v1/chat/completions", copy_scope=False)
async def chat_completions(scope: Scope, receive: Receive, send: Send) -> None:
    await _services(scope).chat.handle(scope, receive, send)  # type: ignore[arg-type]


@asgi("/v1/completions", copy_scope=False)
async def completions(scope: Scope, receive: Receive, send: Send) -> None:
    await _services(scope).completions.handle(scope, receive, send)  # type: ignore[arg-type]


@asgi("/v1/embeddings", copy_scope=False)
async def embeddings(scope: Scope, receive: Receive, send: Send) -> None:
    await _services(scope).embeddings.handle(scope, receive, send)  # type: ignore[arg-type]


class ModelsController(Controller):
    path = "/v1/models"
    tags = ["openai"]

    @get("/", summary="List the models this API key may use", cache=False)
    async def list_models(self, request: Request[Any, Any, Any]) -> Response[ModelList]:
        models, request_id = await _services(request.scope).models.list_models(request.headers)
        return Response(models, headers={"x-request-id": request_id})

    @get("/{model_id:str}", summary="One model, if this API key may use it", cache=False)
    async def get_model(
        self, request: Request[Any, Any, Any], model_id: FromPath[str]
    ) -> Response[Model]:
        model, request_id = await _services(request.scope).models.get_model(
            request.headers, model_id
        )
        return Response(model, headers={"x-request-id": request_id})


def api_route_handlers() -> list[Any]:
    return [chat_completions, completions, embeddings, ModelsController]
