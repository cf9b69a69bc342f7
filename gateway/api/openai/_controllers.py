"""Thin routes: each hands the HTTP exchange to its serving object (built at start-up).

The OpenAI POST routes come from the endpoint table: plain ASGI functions registered with
Litestar (``api_route_handlers``), and the same serving objects reached through
``GatewayLitestar``'s direct lanes (``ApiServices.dispatch``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from litestar import Controller, Litestar, Request, Response, asgi, get
from litestar.params import FromPath
from litestar.types import Receive, Scope, Send

from gateway.api.openai._services import ApiServices
from gateway.api.openai._serving import Family, OpenAIServing
from gateway.api.openai._table import FAMILIES
from gateway.api.openai.models.protocol import (
    AnthropicModel,
    AnthropicModelList,
    Model,
    ModelList,
    anthropic_model,
    anthropic_models,
)

__all__ = ["GatewayLitestar", "ModelsController", "api_route_handlers"]


def _services(scope: Scope) -> ApiServices:
    services: ApiServices = scope["litestar_app"].state.api
    return services


def _asgi_route(family: Family) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    name = family.name

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        await _services(scope).servings[name].handle(scope, receive, send)  # type: ignore[arg-type]

    route.__name__ = route.__qualname__ = family.path.removeprefix("/v1/").replace("/", "_")
    return route


class GatewayLitestar(Litestar):
    """Litestar with a direct lane for the endpoint table's POST routes.

    Those requests skip Litestar's per-request machinery (scope state, host check, route
    lookup, middleware; its cost is in docs/performance.md). The handlers render their own
    errors, so nothing they need is skipped; every other request takes the normal way.

    ``direct_route`` goes one step further for the gateway's own HTTP front
    (``gateway.api.http._front``): it hands the serving object to the protocol, with no ASGI.
    """

    def direct_route(self, target: bytes) -> OpenAIServing | None:
        """What serves ``POST target`` straight from the HTTP protocol, once started."""
        api: ApiServices | None = getattr(self.state, "api", None)
        return None if api is None else api.dispatch.by_target.get(target)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            api: ApiServices | None = getattr(self.state, "api", None)
            serving = None if api is None else api.dispatch.by_path.get(scope["path"])
            if serving is not None:
                scope["app"] = scope["litestar_app"] = self
                await serving.handle(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


class ModelsController(Controller):
    path = "/v1/models"
    tags = ["openai"]

    # With ``anthropic-version`` (the anthropic SDK, Claude Code) the answer is in Anthropic's
    # shape, as its ``models.list()`` / ``models.retrieve()`` parse it.
    @get("/", summary="List the models this API key may use", cache=False)
    async def list_models(
        self, request: Request[Any, Any, Any]
    ) -> Response[ModelList | AnthropicModelList]:
        models, request_id = await _services(request.scope).models.list_models(request.headers)
        headers = {"x-request-id": request_id}
        if "anthropic-version" in request.headers:
            return Response(anthropic_models(models), headers=headers)
        return Response(models, headers=headers)

    @get("/{model_id:str}", summary="One model, if this API key may use it", cache=False)
    async def get_model(
        self, request: Request[Any, Any, Any], model_id: FromPath[str]
    ) -> Response[Model | AnthropicModel]:
        model, request_id = await _services(request.scope).models.get_model(
            request.headers, model_id
        )
        headers = {"x-request-id": request_id}
        if "anthropic-version" in request.headers:
            return Response(anthropic_model(model), headers=headers)
        return Response(model, headers=headers)


def api_route_handlers(families: Sequence[Family] = FAMILIES) -> list[Any]:
    """Litestar's handlers: one ASGI route per family of the endpoint table, and the models."""
    handlers: list[Any] = []
    for family in families:
        route = _asgi_route(family)
        handlers.append(asgi(family.path, copy_scope=False, name=route.__name__)(route))
    return [*handlers, ModelsController]
