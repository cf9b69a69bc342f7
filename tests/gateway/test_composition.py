"""The composition root: every hook listed once, in the order the pipeline runs them."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from configs import Settings
from gateway.entry.compose import Gateway, stage_hooks
from gateway.policy.pipeline import Pipeline
from tests.support.net import wait_until
from tests.support.services import RedisForTests

RUN_ORDER = [
    "auth",  # AUTH
    "model_access",  # POLICY
    "retrieval",
    "tool_permissions",
    "quota",  # QUOTA
    "pii",  # PII
    "citations",  # RESPONSE
    "tool_calls",
    "usage",  # USAGE
]


def _hooks(settings: Settings, *, pii: bool) -> list[str]:
    stub = cast(Any, object())  # the hooks only keep their collaborators
    hooks = stage_hooks(
        settings,
        authenticator=stub,
        search=stub,
        quotas=stub,
        pii=stub if pii else None,
        audit=stub,
        usage=stub,
        prices=stub,
    )
    listed = [hook.name for hook in hooks]
    assert [hook.name for hook in Pipeline(hooks).hooks] == listed  # listed in stage order
    return listed


def test_hooks_are_listed_in_run_order(settings: Settings) -> None:
    assert _hooks(settings, pii=True) == RUN_ORDER
    assert _hooks(settings, pii=False) == [name for name in RUN_ORDER if name != "pii"]


def test_the_opened_gateway_runs_the_listed_hooks(
    settings: Settings, database_url: str, redis_service: RedisForTests
) -> None:
    without_pii = settings.model_copy(
        update={"pii": settings.pii.model_copy(update={"enabled": False})}
    )

    async def run() -> tuple[list[str], list[str]]:
        gateway = await Gateway.open(
            without_pii, database_url=database_url, redis_url=redis_service.url, env={}
        )
        try:
            # Closed mid-subscribe, the key-change listener's Redis client can hang its stop.
            await asyncio.to_thread(wait_until, lambda: gateway.key_cache.live, timeout_s=10)
            return (
                [hook.name for hook in gateway.hooks],
                [hook.name for hook in gateway.api.pipeline.hooks],
            )
        finally:
            await gateway.close()

    listed, running = asyncio.run(run())
    assert listed == running == [name for name in RUN_ORDER if name != "pii"]
