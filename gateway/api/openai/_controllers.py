"""Thin routes: each hands the HTTP exchange to its serving object (built at start-up).

The OpenAI POST routes are plain ASGI functions: registered with Litestar (OpenAPI, the
route table) and also reachable through ``GatewayLitestar``'s direct lane.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Controller, Litestar, Request, Response, asgi, get
from litestar.params import FromPath
from litestar.types import Receive, Scope, Send

from gateway.api.openai._services import ApiServices
from gateway.api.openai._serving import OpenAIServing
from gateway.api.openai.models.protocol import Model, ModelList

__all__ = ["FAST_ROUTES", "GatewayLitestar", "ModelsController", "api_route_handlers"]

# The OpenAI POST routes: path -> the ApiServices field whose serving object answers it.
# Reached through Litestar (``FAST_ROUTES``, the direct lane) and, on the gateway's own HTTP
# front, straight from the protocol (``GatewayLitestar.direct_route``).
_OPENAI_POSTS = {
    "/v1/chat/completions": "chat",
    "/v1/completions": "completions",
    "/v1/embeddings": "embeddings",
}
_DIRECT = {path.encode(): field for path, field in _OPENAI_POSTS.items()}


def _services(scope: Scope) -> ApiServices:
    services: ApiServices = scope["litestar_app"].state.api
    return services


def _asgi_route(path: str, field: str) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        serving: OpenAIServing = getattr(_services(scope), field)
        await serving.handle(scope, receive, send)  # type: ignore[arg-type]

    route.__name__ = route.__qualname__ = path.removeprefix("/v1/").replace("/", "_")
    return route


FAST_ROUTES: dict[str, Callable[[Scope, Receive, Send], Awaitable[None]]] = {
    path: _asgi_route(path, field) for path, field in _OPENAI_POSTS.items()
}


class GatewayLitestar(Litestar):
    """Litestar with a direct lane for the OpenAI POST routes.

    Those requests skip Litestar's per-request machinery (scope state, host check, route
    lookup, middleware): ~10% of the gateway's CPU per proxied request, measured with
    py-spy under load (docs/performance.md). The handlers render their own errors, so
    nothing they need is skipped; every other request takes the normal way.

    ``direct_route`` goes one step further for the gateway's own HTTP front
    (``gateway.api.http._front``): it hands the serving object to the protocol, with no ASGI.
    """

    _direct_api: ApiServices | None = None
    _direct: dict[bytes, OpenAIServing] | None = None

    def direct_route(self, target: bytes) -> OpenAIServing | None:
        """What serves ``POST target`` straight from the HTTP protocol, once started."""
        api: ApiServices | None = getattr(self.state, "api", None)
        if api is None:
            return None
        if api is not self._direct_api or self._direct is None:
            self._direct = {path: getattr(api, name) for path, name in _DIRECT.items()}
            self._direct_api = api
        return self._direct.get(target)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            route = FAST_ROUTES.get(scope["path"])
            if route is not None:
                scope["app"] = scope["litestar_app"] = self
                await route(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


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
    handlers: list[Any] = [
        asgi(path, copy_scope=False, name=route.__name__)(route)
        for path, route in FAST_ROUTES.items()
    ]
    return [*handlers, ModelsController]
