"""``/console/health``: model aliases, their deployments and breakers, recent traffic, and
the readiness of Postgres, Redis, the workers and the queue (admin keys only).

The page refreshes its live part every ~10 s (``/console/health/live``, htmx); each view
is also a snapshot of this process's metrics for the :class:`MetricsWindow`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.response import Template

from gateway.api.console._health_report import HealthReport, models
from gateway.api.console._metrics_window import MetricsWindow
from gateway.api.console._render import fragment, page
from gateway.api.console._user import ConsoleUser, console_services
from gateway.policy.observability import exposition

__all__ = ["routes"]

_STATE_KEY = "console_health"


@dataclass(frozen=True, slots=True)
class _HealthState:
    window: MetricsWindow
    report: HealthReport


def _state(request: Request[Any, Any, Any]) -> _HealthState:
    """This app's window and report, made on the first view.

    Kept on the app's state, not in a module global: metrics snapshots belong to the app
    that serves the page (tests run several apps in one process), and not built at start-up
    with the other console services because only this page uses them, and only once someone
    looks -- so the composition root needs no knowledge of a page's private cache.
    """
    state = request.app.state
    found: _HealthState | None = state.get(_STATE_KEY)
    if found is None:
        services = console_services(request)
        timeout_s = services.settings.gateway.readiness_timeout_s
        found = _HealthState(MetricsWindow(), HealthReport(services, timeout_s=timeout_s))
        state[_STATE_KEY] = found
    return found


def _window_label(seconds: float | None) -> str:
    if seconds is None:
        return "since start"
    minutes, rest = divmod(round(seconds), 60)
    return f"last {minutes} min {rest} s" if minutes else f"last {rest} s"


async def _context(request: Request[Any, Any, Any]) -> dict[str, Any]:
    state = _state(request)
    body, _ = await asyncio.to_thread(exposition)  # multiprocess mode reads files
    recent = state.window.observe(body.decode())
    readiness = await state.report.readiness()
    settings = console_services(request).settings
    return {
        "models": models(settings, recent),
        "window": _window_label(recent.seconds),
        "ready": readiness,
        "heartbeat_timeout_s": settings.worker.heartbeat_timeout_s,
        "broker": settings.queue.kind,
    }


class HealthController(Controller):
    path = "/health"
    include_in_schema = False

    @get("/", cache=False)
    async def overview(
        self, admin: NamedDependency[ConsoleUser], request: Request[Any, Any, Any]
    ) -> Template:
        return page("health.html", admin, nav="health", **await _context(request))

    @get("/live", cache=False)
    async def live(
        self, admin: NamedDependency[ConsoleUser], request: Request[Any, Any, Any]
    ) -> Template:
        """The page's live part, which htmx swaps in every ~10 s."""
        return fragment("_health_live.html", admin, **await _context(request))


def routes() -> list[Any]:
    """This area's controllers, mounted under /console."""
    return [HealthController]
