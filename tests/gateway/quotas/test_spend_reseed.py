"""A monthly spend counter Redis lost is seeded again from ``usage_events`` (real Redis and
Postgres): the budget does not reset to full after a flush or a restart without persistence."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from configs import DatabaseSettings, QuotaSettings, UsageSettings
from gateway.platform.errors import ServiceUnavailableError
from gateway.policy.quotas import QuotaExceededError, QuotaService, RedisLane
from gateway.policy.usage import SpendLedger, UsageRecord, UsageRecorder
from ingestion.db import open_pool
from tests.gateway.quotas.conftest import PRICES, principal
from tests.support.net import free_port
from tests.support.policy import pool_for
from tests.support.services import RedisForTests


@pytest.fixture
async def ledger_quotas(
    redis_service: RedisForTests, database_url: str
) -> AsyncIterator[QuotaService]:
    client = RedisLane(redis_service.url, timeout_s=2)
    async with pool_for(database_url) as pool:
        service = QuotaService(
            redis=client,
            settings=QuotaSettings(),
            key_prefix=redis_service.key_prefix,
            prices=PRICES,
            spend=SpendLedger(pool),
        )
        service.start()
        yield service
        await service.close()
    await client.aclose()


async def write_usage(database_url: str, key_id: str, *costs: tuple[float, datetime]) -> None:
    """Rows as the usage step writes them, through the real recorder."""
    async with pool_for(database_url) as pool:
        recorder = UsageRecorder(pool, UsageSettings())
        for cost, at in costs:
            recorder.record(
                UsageRecord(
                    request_id="req_" + secrets.token_hex(6),
                    key_id=key_id,
                    model="priced",
                    deployment="dear-b",
                    endpoint="chat.completions",
                    prompt_tokens=1000,
                    completion_tokens=1000,
                    cost_usd=cost,
                    latency_ms=1.0,
                    status=200,
                    streamed=False,
                    created_at=at,
                )
            )
        await recorder.flush()


async def forget(redis_service: RedisForTests, key_id: str) -> int:
    """Delete the key's quota counters, and only this test's (its prefix and key id)."""
    client = Redis.from_url(redis_service.url)
    try:
        keys = [k async for k in client.scan_iter(f"{redis_service.key_prefix}quota:{{{key_id}}}*")]
        return int(await client.delete(*keys)) if keys else 0
    finally:
        await client.aclose()


def seeds(result: str) -> float:
    return REGISTRY.get_sample_value("ragway_quota_spend_seeds_total", {"result": result}) or 0.0


async def test_spend_survives_a_flush_of_the_redis_counters(
    ledger_quotas: QuotaService, redis_service: RedisForTests, database_url: str
) -> None:
    caller = principal(monthly_budget_usd=0.05)
    now = datetime.now(UTC)
    last_month = now.replace(day=1) - timedelta(days=2)
    # dear-b: 10 USD/M in, 20 USD/M out -> 1000 + 1000 tokens cost 0.03 USD.
    held = await ledger_quotas.reserve(caller, model="priced", prompt_tokens=1000, max_tokens=1000)
    ledger_quotas.settle(
        held, model="priced", deployment="dear-b", prompt_tokens=1000, completion_tokens=1000
    )
    await ledger_quotas.drain()
    # Its ledger row, plus one from last month that must not count.
    await write_usage(database_url, caller.key_id, (0.03, now), (1.0, last_month))
    with pytest.raises(QuotaExceededError, match="monthly budget"):
        await ledger_quotas.reserve(caller, model="priced", prompt_tokens=1000, max_tokens=1000)

    assert await forget(redis_service, caller.key_id) >= 1
    before = seeds("seeded")
    with pytest.raises(QuotaExceededError, match="monthly budget") as refused:
        await ledger_quotas.reserve(caller, model="priced", prompt_tokens=1000, max_tokens=1000)
    assert "spent or reserved $0.0300" in str(refused.value)
    assert seeds("seeded") == before + 1
    # What is left (0.02 USD) can still be used: 100 + 100 tokens on dear-b = 0.003 USD.
    await ledger_quotas.reserve(caller, model="priced", prompt_tokens=100, max_tokens=100)


async def test_concurrent_requests_seed_the_counter_once(
    ledger_quotas: QuotaService, redis_service: RedisForTests, database_url: str
) -> None:
    caller = principal(monthly_budget_usd=1.0)
    await write_usage(database_url, caller.key_id, (0.25, datetime.now(UTC)))
    await asyncio.gather(
        *(
            ledger_quotas.reserve(caller, model="priced", prompt_tokens=100, max_tokens=100)
            for _ in range(8)
        )
    )
    client = Redis.from_url(redis_service.url)
    try:
        month = datetime.now(UTC).strftime("%Y%m")
        raw = await client.get(f"{redis_service.key_prefix}quota:{{{caller.key_id}}}:month:{month}")
    finally:
        await client.aclose()
    assert raw is not None
    assert int(raw) == 250_000 + 8 * 3_000  # the ledger once, plus each reservation


async def test_keys_without_a_budget_never_ask_the_ledger(ledger_quotas: QuotaService) -> None:
    before = sum(seeds(result) for result in ("seeded", "raced", "failed"))
    for _ in range(3):
        await ledger_quotas.reserve(principal(), model="priced", prompt_tokens=10, max_tokens=10)
    assert sum(seeds(result) for result in ("seeded", "raced", "failed")) == before


@pytest.mark.parametrize("mode", ["open", "closed"])
async def test_a_ledger_that_does_not_answer_follows_on_redis_error(
    redis_service: RedisForTests, mode: str
) -> None:
    """Seeding needs Postgres: fail-closed answers 503, fail-open counts from zero."""
    client = RedisLane(redis_service.url, timeout_s=2)
    nobody = f"postgresql://postgres@127.0.0.1:{free_port()}/ragway"  # nothing listens there
    pool = await open_pool(nobody, DatabaseSettings(connect_timeout_s=1), application_name="t")
    quotas = QuotaService(
        redis=client,
        settings=QuotaSettings(on_redis_error=mode),
        key_prefix=redis_service.key_prefix,
        prices=PRICES,
        spend=SpendLedger(pool, timeout_s=0.3),
    )
    caller = principal(monthly_budget_usd=1.0)
    failed = seeds("failed")
    try:
        if mode == "closed":
            with pytest.raises(ServiceUnavailableError) as refused:
                await quotas.reserve(caller, model="priced", prompt_tokens=10, max_tokens=10)
            assert refused.value.code == "ledger_unavailable"
        else:
            held = await quotas.reserve(caller, model="priced", prompt_tokens=10, max_tokens=10)
            assert held.store == "redis"
        assert seeds("failed") == failed + 1
    finally:
        await quotas.close()
        await pool.close()
        await client.aclose()
