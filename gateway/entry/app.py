"""The Litestar application: built from settings, with its collaborators opened in the lifespan."""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig

from configs import Settings, configure_logging, load_settings
from gateway.api import (
    ApiServices,
    GatewayLitestar,
    GatewayRequest,
    api_route_handlers,
    document_api_routes,
)
from gateway.api.admin import PolicyServices, admin_route_handlers
from gateway.api.collections import CollectionServices, collection_route_handlers
from gateway.api.health import HealthController, PostgresCheck, ReadinessService, RedisCheck
from gateway.api.metrics import MetricsController
from gateway.platform.errors import exception_handlers
from gateway.platform.resources import Resources
from gateway.platform.urls import require_urls
from gateway.policy.auth import principal_dependency
from gateway.policy.retrieval import retrieval_hooks
from gateway.policy.tools import AuditController, GuardServices
from ingestion.db import migrate_when_ready

__all__ = ["app_from_env", "create_app"]


def create_app(
    settings: Settings,
    *,
    database_url: str,
    redis_url: str,
    env: Mapping[str, str] | None = None,
) -> Litestar:
    """Build the gateway for the given settings and service URLs.

    ``env`` holds the provider API keys named by ``api_key_env`` (default: ``os.environ``).
    """

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if settings.database.migrate_on_start:
            await migrate_when_ready(
                database_url,
                wait_s=settings.database.migrate_wait_s,
                connect_timeout_s=settings.database.connect_timeout_s,
            )
        resources = await Resources.open(settings, database_url=database_url, redis_url=redis_url)
        app.state.resources = resources
        policy = PolicyServices.open(
            settings, pool=resources.pool, redis=resources.redis, redis_url=redis_url
        )
        app.state.policy = policy
        authenticator = policy.authenticator
        app.state.authenticator = authenticator
        app.state.metrics_auth = settings.providers.observability.metrics_auth
        guards = await GuardServices.open(settings, pool=resources.pool)  # PII, tools, audit
        app.state.guards = guards
        collections = CollectionServices.open(settings, pool=resources.pool, redis_url=redis_url)
        app.state.collections = collections
        retrieval = retrieval_hooks(
            searcher=collections.searcher,
            stores=collections.stores,
            settings=settings.retrieval.chat,
        )
        try:
            app.state.api = await ApiServices.open(
                settings,
                resources=resources,
                authenticator=authenticator,
                env=os.environ if env is None else env,
                policy_hooks=[*policy.hooks(), *retrieval, *guards.hooks()],
            )
        except BaseException:
            collections.close()
            await guards.close()
            await policy.close()
            await resources.close()
            raise
        document_api_routes(app)
        app.state.readiness = ReadinessService(
            [
                PostgresCheck(resources.pool, timeout_s=1.5),
                RedisCheck(resources.redis, required=_redis_required(settings)),
            ],
            timeout_s=2.0,
        )
        # What start-up built (~500k objects: modules, recognizers, routes) lives as long as
        # the process: frozen, the cyclic GC stops rescanning it -- a full collection of it
        # costs ~0.2-0.3 s of CPU, a latency spike for every request in flight.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            try:
                app.state.collections.close()
                await app.state.api.close()
                await guards.close()  # writes out queued audit events
                await policy.close()  # writes out buffered usage and settlements
            finally:
                await resources.close()

    return GatewayLitestar(
        route_handlers=[
            HealthController,
            MetricsController,
            *api_route_handlers(),
            *admin_route_handlers(),
            AuditController,
            *collection_route_handlers(),
        ],
        dependencies={
            "readiness": Provide(_readiness, sync_to_thread=False),
            "principal": principal_dependency(),
        },
        lifespan=[lifespan],
        exception_handlers=exception_handlers(),
        request_max_body_size=settings.gateway.max_body_bytes,
        request_class=GatewayRequest,
        logging_config=None,  # configs.configure_logging owns logging
        openapi_config=OpenAPIConfig(title="ragway", version="0.1.0", path="/openapi"),
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
