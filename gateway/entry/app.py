"""The Litestar application: built from settings, with its collaborators opened in the lifespan."""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig

from configs import Settings, configure_logging, load_settings
from gateway.api import (
    FAMILIES,
    Family,
    GatewayLitestar,
    GatewayRequest,
    api_route_handlers,
    document_api_routes,
)
from gateway.api.admin import admin_route_handlers
from gateway.api.batches import BatchesController
from gateway.api.collections import collection_route_handlers
from gateway.api.console import ConsoleServices, SessionStore, console_router, template_config
from gateway.api.health import HealthController, PostgresCheck, ReadinessService, RedisCheck
from gateway.api.http._tracing import route_spans
from gateway.api.metrics import MetricsController
from gateway.api.openai.responses.controller import ResponsesController
from gateway.entry.compose import Gateway
from gateway.platform.errors import exception_handlers
from gateway.platform.urls import require_urls
from gateway.policy.audit import AuditStore
from gateway.policy.auth import principal_dependency
from gateway.policy.usage import BudgetGauges
from ingestion import tracing
from ingestion.db import migrate_when_ready
from ingestion.metrics import use_created_series

__all__ = ["app_from_env", "create_app"]


def create_app(
    settings: Settings,
    *,
    database_url: str,
    redis_url: str | None,
    env: Mapping[str, str] | None = None,
    families: Sequence[Family] = FAMILIES,
) -> Litestar:
    """Build the gateway for the given settings and service URLs.

    ``env`` holds the provider API keys named by ``api_key_env`` (default: ``os.environ``);
    ``families`` is the endpoint table (``gateway.api.FAMILIES``). ``redis_url`` is not
    used when ``redis.sentinel`` names the master.
    """

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # Per process (uvicorn's workers each run this): the exporter's thread is its own.
        tracing.setup(settings.tracing, process="gateway")
        if settings.database.migrate_on_start:
            await migrate_when_ready(
                database_url,
                wait_s=settings.database.migrate_wait_s,
                connect_timeout_s=settings.database.connect_timeout_s,
            )
        gateway = await Gateway.open(
            settings,
            database_url=database_url,
            redis_url=redis_url,
            env=os.environ if env is None else env,
            families=families,
        )
        app.state.gateway = gateway  # the admin routes read its keys and usage report
        app.state.resources = gateway.resources
        app.state.authenticator = gateway.authenticator
        app.state.metrics_auth = settings.providers.observability.metrics_auth
        use_created_series(settings.metrics.created_series)
        budget_gauges = BudgetGauges(
            database_url, settings.metrics, connect_timeout_s=settings.database.connect_timeout_s
        )
        app.state.budget_gauges = budget_gauges  # on /metrics
        app.state.api = gateway.api
        app.state.collections = gateway.collections
        app.state.responses = gateway.responses
        app.state.background_responses = gateway.background_responses
        app.state.idempotency = gateway.idempotency  # read by the ``idempotent`` routes
        app.state.batches = gateway.batches
        document_api_routes(app)
        readiness_s = settings.gateway.readiness_timeout_s
        app.state.readiness = ReadinessService(
            [
                PostgresCheck(gateway.resources.pool, timeout_s=0.75 * readiness_s),
                RedisCheck(gateway.resources.redis, required=_redis_required(settings)),
            ],
            timeout_s=readiness_s,
        )
        if settings.console.enabled:
            app.state.console = _console_services(settings, gateway, app.state.readiness)
        # What start-up built (~500k objects: modules, recognizers, routes) lives as long as
        # the process: frozen, the cyclic GC stops rescanning it -- a full collection of it
        # costs ~0.2-0.3 s of CPU, a latency spike for every request in flight.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await gateway.close()
            budget_gauges.close()
            tracing.shutdown()

    console = [console_router()] if settings.console.enabled else []
    return GatewayLitestar(
        route_handlers=[
            HealthController,
            MetricsController,
            *api_route_handlers(families),
            ResponsesController,
            BatchesController,
            *admin_route_handlers(),
            *collection_route_handlers(),
            *console,
        ],
        template_config=template_config() if console else None,
        dependencies={
            "readiness": Provide(_readiness, sync_to_thread=False),
            "principal": principal_dependency(),
        },
        lifespan=[lifespan],
        exception_handlers=exception_handlers(),
        request_max_body_size=settings.gateway.max_body_bytes,
        request_class=GatewayRequest,
        middleware=[route_spans(family.path for family in families)],
        logging_config=None,  # configs.configure_logging owns logging
        openapi_config=OpenAPIConfig(title="ragway", version="0.1.0", path="/openapi"),
    )


def _console_services(
    settings: Settings, gateway: Gateway, readiness: ReadinessService
) -> ConsoleServices:
    resources = gateway.resources
    return ConsoleServices(
        settings=settings,
        sessions=SessionStore(
            resources.redis, settings.console, key_prefix=settings.redis.key_prefix
        ),
        authenticator=gateway.authenticator,
        keys=gateway.keys,
        usage=gateway.usage_report,
        audit=AuditStore(resources.pool),
        collections=gateway.collections,
        readiness=readiness,
        queue=gateway.queue,
        pool=resources.pool,
    )


def _redis_required(settings: Settings) -> bool:
    """Redis is needed to serve only when quotas fail closed without it."""
    quotas = settings.policy.quotas
    return quotas.enabled and quotas.on_redis_error == "closed"


def _readiness(state: State) -> ReadinessService:
    readiness: ReadinessService = state.readiness
    return readiness


def app_from_env() -> Litestar:
    """uvicorn factory: each server process loads the settings once from files and environment."""
    settings = load_settings()
    configure_logging(settings.logging, process="gateway")
    database_url, redis_url = require_urls(settings)
    return create_app(settings, database_url=database_url, redis_url=redis_url)
