"""Spend as ``ragway_spend_usd_total{model, deployment}`` and the budget gauges of the keys
nearest their monthly budget, on a gateway over a database of its own (so the keys with a
budget are exactly this test's)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from configs import MetricsSettings, ProvidersSettings, Settings
from gateway.entry.app import create_app
from gateway.policy.keys import CreatedKey, KeyService
from tests.gateway.api.conftest import ENV
from tests.observability.conftest import INPUT_PRICE, OUTPUT_PRICE, priced_models
from tests.support.fake_openai import FakeOpenAI
from tests.support.net import wait_until
from tests.support.policy import NoEvents, make_key, pool_for
from tests.support.prometheus import metric_value
from tests.support.servers import ServerThread
from tests.support.services import PostgresForTests, RedisForTests

HELLO: Any = [{"role": "user", "content": "how much is this"}]


@pytest.fixture(scope="module")
def own_database(postgres: PostgresForTests) -> str:
    return postgres.create_database("ragway_budgets")


@pytest.fixture(scope="module")
def gateway(
    settings: Settings,
    own_database: str,
    redis_service: RedisForTests,
    upstream: FakeOpenAI,
) -> Iterator[str]:
    providers = ProvidersSettings.model_validate({"models": priced_models(upstream)})
    metrics = MetricsSettings(budget_keys=2, budget_refresh_s=1)
    configured = settings.model_copy(update={"providers": providers, "metrics": metrics})
    app = create_app(configured, database_url=own_database, redis_url=redis_service.url, env=ENV)
    with ServerThread(app) as server:
        yield server.base_url


def keys(database_url: str, *specs: dict[str, Any], revoke: int = 0) -> list[CreatedKey]:
    async def create() -> list[CreatedKey]:
        async with pool_for(database_url) as pool:
            service = KeyService(pool, events=NoEvents())
            made = [await make_key(service, f"budget-{i}", **spec) for i, spec in enumerate(specs)]
            for key in made[:revoke]:
                await service.revoke(key.id)
            return made

    return asyncio.run(create())


def cost(usage: Any) -> float:
    tokens_in, tokens_out = int(usage.prompt_tokens), int(usage.completion_tokens)
    return (tokens_in * INPUT_PRICE + tokens_out * OUTPUT_PRICE) / 1e6


def test_spend_counts_by_model_and_deployment_and_budgets_show_the_nearest_keys(
    gateway: str, own_database: str
) -> None:
    metrics = f"{gateway}/metrics"
    revoked, unbudgeted, roomy, tight, spent_out = keys(
        own_database,
        {"monthly_budget_usd": 0.5},  # revoked: never shown
        {},  # no budget: never shown
        {"monthly_budget_usd": 100.0},  # far from its limit: beyond budget_keys (2)
        {"monthly_budget_usd": 1.0},
        {"monthly_budget_usd": 0.12},  # two answers leave it the smallest fraction
        revoke=1,
    )
    spend_before = metric_value(metrics, "ragway_spend_usd_total", model="chat", deployment="obs-a")
    charged: dict[str, float] = {}
    for key, calls in ((roomy, 1), (tight, 1), (spent_out, 2)):
        client = openai.OpenAI(base_url=f"{gateway}/v1", api_key=key.key, max_retries=0)
        for _ in range(calls):
            answer = client.chat.completions.create(model="chat", messages=HELLO, max_tokens=5)
            charged[key.id] = charged.get(key.id, 0.0) + cost(answer.usage)
    assert 0.05 < charged[spent_out.id] < 0.12

    # the counter: at once, by configured alias and deployment, never by key
    spent = metric_value(metrics, "ragway_spend_usd_total", model="chat", deployment="obs-a")
    assert spent - spend_before == pytest.approx(sum(charged.values()))
    scraped = httpx.get(metrics, timeout=10).text
    assert "ragway_spend_usd_total{" in scraped
    spend_lines = [line for line in scraped.splitlines() if line.startswith("ragway_spend_usd")]
    assert all("key" not in line for line in spend_lines)

    # the gauges: from the ledger (written within policy.usage.flush_interval_s), re-read at
    # most every second here; only the two budgeted keys with the least fraction left
    def remaining(key: CreatedKey) -> float | None:
        for line in httpx.get(metrics, timeout=10).text.splitlines():
            if line.startswith(f'ragway_key_budget_remaining_usd{{key_id="{key.id}"}}'):
                return float(line.rsplit(" ", 1)[1])
        return None

    def ledger_caught_up() -> bool:
        left = remaining(spent_out)
        return left is not None and left == pytest.approx(0.12 - charged[spent_out.id])

    wait_until(ledger_caught_up, timeout_s=10, interval_s=0.2)
    assert remaining(tight) == pytest.approx(1.0 - charged[tight.id])
    text = httpx.get(metrics, timeout=10).text
    assert f'ragway_key_budget_usd{{key_id="{tight.id}"}} 1.0' in text
    assert f'ragway_key_budget_usd{{key_id="{spent_out.id}"}} 0.12' in text
    for absent in (roomy, unbudgeted, revoked):
        assert absent.id not in text  # beyond the bound, no budget, revoked
    for key in (revoked, unbudgeted, roomy, tight, spent_out):
        assert key.key not in text  # ids only, never a secret
