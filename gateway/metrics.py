"""``/metrics``: the Prometheus exposition of this process (of all workers in multiprocess mode).

With ``providers.observability.metrics_auth: admin`` it needs an admin API key.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get

from gateway.errors import PermissionDeniedError
from gateway.observability import exposition

__all__ = ["MetricsController"]


class MetricsController(Controller):
    tags = ["operations"]

    @get("/metrics", summary="Prometheus metrics", cache=False, include_in_schema=True)
    async def metrics(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        state = request.app.state
        if state.get("metrics_auth") == "admin":
            authorization = request.headers.get("authorization", "")
            scheme, _, token = authorization.partition(" ")
            principal = await state.authenticator.authenticate(
                token.strip() if scheme.lower() == "bearer" else None
            )
            if not principal.is_admin:
                raise PermissionDeniedError("/metrics needs an admin API key")
        api = state.get("api")
        if api is not None:
            api.observer.flush()  # calls that ended in the last few ms count too
        body, content_type = exposition()
        return Response(body, media_type=content_type)
