"""``/healthz`` (the process is alive) and ``/readyz`` (its dependencies answer)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from gateway.api.health._checks import ReadinessService

__all__ = ["HealthController"]


class HealthController(Controller):
    tags = ["operations"]

    @get("/healthz", summary="Liveness: the process is up", cache=False)
    async def healthz(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/readyz", summary="Readiness: the dependencies it needs answer", cache=False)
    async def readyz(
        self, readiness: NamedDependency[ReadinessService]
    ) -> Response[dict[str, Any]]:
        results = await readiness.probe()
        ready = all(result.ok for result in results if result.required)
        failed = [r.name for r in results if not r.ok]
        body: dict[str, Any] = {
            "status": "unavailable" if not ready else "degraded" if failed else "ready",
            "checks": {
                r.name: {"ok": r.ok, "required": r.required, "latency_ms": r.latency_ms}
                | ({"error": r.error} if r.error else {})
                for r in results
            },
        }
        if failed:
            state = "not ready" if not ready else "degraded (still serving)"
            body["message"] = f"{state}: {', '.join(failed)} unavailable"
        return Response(body, status_code=HTTP_200_OK if ready else HTTP_503_SERVICE_UNAVAILABLE)
