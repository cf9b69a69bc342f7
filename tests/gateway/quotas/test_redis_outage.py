"""Redis stopped and started again under the quota step: fail-open, fail-closed, recovery."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from configs import QuotaSettings
from gateway.entry.runtime import EmbeddedRedis
from gateway.platform.errors import ServiceUnavailableError
from gateway.platform.prices import PriceBook
from gateway.policy.quotas import QuotaExceededError, QuotaService, RedisLane
from tests.gateway.quotas.conftest import principal
from tests.support.net import free_port


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "redis", port=free_port(), persist=False)
    server.start()
    yield server
    server.stop()


@asynccontextmanager
async def service_on(
    server: EmbeddedRedis, mode: str, *, fraction: float = 1.0
) -> AsyncIterator[QuotaService]:
    client = RedisLane(server.url, timeout_s=1)
    settings = QuotaSettings(on_redis_error=mode, redis_retry_s=0.2, fallback_fraction=fraction)
    service = QuotaService(
        redis=client, settings=settings, key_prefix="outage:", prices=PriceBook({})
    )
    service.start()
    try:
        yield service
    finally:
        await service.close()
        await client.aclose()


def available() -> float | None:
    return REGISTRY.get_sample_value("ragway_quota_redis_available")


async def test_fail_open_serves_on_fallback_limits_and_recovers(
    redis_server: EmbeddedRedis, caplog: pytest.LogCaptureFixture
) -> None:
    async with service_on(redis_server, "open", fraction=0.5) as quotas:
        caller = principal(rpm=10)
        for _ in range(3):
            await quotas.reserve(caller, model="m", prompt_tokens=1)
        redis_server.stop()
        with caplog.at_level(logging.WARNING, logger="gateway.policy.quotas"):
            held = [await quotas.reserve(caller, model="m", prompt_tokens=1) for _ in range(5)]
            assert {h.store for h in held} == {"local"}
            assert held[-1].headers["x-ratelimit-limit-requests"] == "5"  # half of 10, this process
            with pytest.raises(QuotaExceededError, match="rpm"):
                await quotas.reserve(caller, model="m", prompt_tokens=1)
            assert not quotas.redis_available
            assert available() == 0
            assert any("quota store unreachable" in r.message for r in caplog.records)

            redis_server.start()
            await asyncio.sleep(0.3)  # redis_retry_s
            recovered = await quotas.reserve(principal(rpm=10), model="m", prompt_tokens=1)
            assert recovered.store == "redis"
            assert quotas.redis_available
            assert available() == 1
            assert any("quota store recovered" in r.message for r in caplog.records)


async def test_fail_closed_answers_503_until_redis_is_back(redis_server: EmbeddedRedis) -> None:
    async with service_on(redis_server, "closed") as quotas:
        caller = principal(rpm=10)
        await quotas.reserve(caller, model="m", prompt_tokens=1)
        redis_server.stop()
        with pytest.raises(ServiceUnavailableError, match="Redis") as refused:
            await quotas.reserve(caller, model="m", prompt_tokens=1)
        assert refused.value.status_code == 503
        assert refused.value.headers["retry-after"] == "1"
        redis_server.start()
        await asyncio.sleep(0.3)
        assert (await quotas.reserve(caller, model="m", prompt_tokens=1)).store == "redis"


async def test_only_one_request_per_interval_probes_a_dead_redis(
    redis_server: EmbeddedRedis,
) -> None:
    async with service_on(redis_server, "open") as quotas:
        redis_server.stop()
        await quotas.reserve(principal(), model="m", prompt_tokens=1)
        errors = REGISTRY.get_sample_value("ragway_quota_redis_errors_total") or 0
        for _ in range(50):
            await quotas.reserve(principal(), model="m", prompt_tokens=1)
        assert REGISTRY.get_sample_value("ragway_quota_redis_errors_total") == errors
