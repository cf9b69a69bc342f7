"""The API's services, built once per process in the app's lifespan."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass

from configs import Settings
from gateway.api.http._busy_poll import BusyPoll
from gateway.api.openai._dispatch import Dispatch
from gateway.api.openai._serving import Family, OpenAIServing
from gateway.api.openai._table import FAMILIES
from gateway.api.openai.models.serving import ModelsServing
from gateway.policy.observability import RequestObserver, install_log_context, process_exiting
from gateway.policy.pipeline import Hook, Pipeline
from gateway.providers import ProviderRegistry, open_http_client
from gateway.providers.routing import Router, build_routes

__all__ = ["ApiServices"]


@dataclass(slots=True)
class ApiServices:
    """Everything the OpenAI routes use; ``close`` releases the upstream connections.

    ``servings`` holds one serving object per family of ``families`` (the endpoint table),
    by family name; ``dispatch`` finds them by path.
    """

    families: tuple[Family, ...]
    servings: Mapping[str, OpenAIServing]
    dispatch: Dispatch
    models: ModelsServing
    pipeline: Pipeline
    router: Router
    observer: RequestObserver
    _closer: AsyncExitStack

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        env: Mapping[str, str],
        hooks: Sequence[Hook] = (),
        families: Sequence[Family] = FAMILIES,
        backends: Mapping[str, object] | None = None,
    ) -> ApiServices:
        """``hooks``: the pipeline, in stage order (``gateway.entry.compose.stage_hooks``);
        ``backends``: by family name, what a family's serving needs beyond the common parts
        (the Responses API's store and search)."""
        config = settings.providers
        install_log_context()
        observer = RequestObserver(models=config.models, access_log=config.observability.access_log)
        routes = build_routes(
            config.models,
            env=env,
            breaker_failures=config.routing.breaker_failures,
            breaker_cooldown_s=config.routing.breaker_cooldown_s,
            on_breaker_change=observer.breaker_changed,
        )
        for route in routes.values():
            for deployment in route.deployments:
                observer.breaker_changed(deployment.name, deployment.breaker.state)
        stack = AsyncExitStack()
        client = open_http_client(config.http, env=env)
        stack.push_async_callback(client.aclose)
        kinds = {d.kind for route in routes.values() for d in route.deployments}
        providers = ProviderRegistry.open(kinds, client=client)
        router = Router(routes, settings=config.routing, observer=observer)
        pipeline = Pipeline(hooks)

        busy_poll = BusyPoll(
            settings.gateway.busy_poll_us / 1_000_000, on_polled=observer.busy_polled
        )

        servings = {
            family.name: family.serving(
                family=family,
                pipeline=pipeline,
                router=router,
                providers=providers,
                observer=observer,
                max_body_bytes=settings.gateway.max_body_bytes,
                overhead_header=config.observability.overhead_header,
                busy_poll=busy_poll,
                backend=(backends or {}).get(family.name),
            )
            for family in families
        }
        return cls(
            families=tuple(families),
            servings=servings,
            dispatch=Dispatch.of(servings.values()),
            models=ModelsServing(
                pipeline=pipeline, router=router, observer=observer, created=int(time.time())
            ),
            pipeline=pipeline,
            router=router,
            observer=observer,
            _closer=stack,
        )

    async def close(self) -> None:
        self.observer.flush()
        try:
            await self._closer.aclose()
        finally:
            process_exiting()
