"""QuotaService against the session's real Redis: limits, headers, 429s and settlement."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from gateway.platform.errors import InvalidRequestError
from gateway.policy.quotas import (
    QuotaExceededError,
    QuotaService,
    estimate_prompt_tokens,
    format_reset,
)
from tests.gateway.quotas.conftest import principal
from tests.support.services import RedisForTests


async def test_rpm_admits_exactly_the_limit_and_names_it(quotas: QuotaService) -> None:
    caller = principal(rpm=5)
    results = await asyncio.gather(
        *(quotas.reserve(caller, model="m", prompt_tokens=1) for _ in range(8)),
        return_exceptions=True,
    )
    admitted = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, QuotaExceededError)]
    assert len(admitted) == 5
    assert len(refused) == 3
    remaining = sorted(int(r.headers["x-ratelimit-remaining-requests"]) for r in admitted)
    assert remaining == [0, 1, 2, 3, 4]
    error = refused[0]
    assert error.status_code == 429
    assert error.limit == "rpm"
    assert "requests per minute (rpm)" in error.message
    assert "limit 5" in error.message
    assert 1 <= int(error.headers["retry-after"]) <= 60
    assert error.headers["x-ratelimit-limit-requests"] == "5"
    assert error.headers["x-ratelimit-remaining-requests"] == "0"
    assert error.headers["x-ratelimit-limit-hit"] == "rpm"


async def test_tpm_reserves_prompt_plus_max_tokens_and_settles_real_usage(
    quotas: QuotaService,
) -> None:
    caller = principal(tpm=1000)
    held = await quotas.reserve(caller, model="m", prompt_tokens=100, max_tokens=400)
    assert held.headers["x-ratelimit-limit-tokens"] == "1000"
    assert held.headers["x-ratelimit-remaining-tokens"] == "500"
    second = await quotas.reserve(caller, model="m", prompt_tokens=100, max_tokens=400)
    assert second.headers["x-ratelimit-remaining-tokens"] == "0"
    with pytest.raises(QuotaExceededError, match="tokens per minute") as refused:
        await quotas.reserve(caller, model="m", prompt_tokens=10, max_tokens=10)
    assert refused.value.limit == "tpm"

    # The first request really used 150 tokens, the second failed upstream and used none.
    quotas.settle(held, model="m", deployment=None, prompt_tokens=100, completion_tokens=50)
    quotas.settle(second, model="m", deployment=None, prompt_tokens=0, completion_tokens=0)
    await quotas.drain()
    after = await quotas.reserve(caller, model="m", prompt_tokens=10, max_tokens=10)
    assert after.headers["x-ratelimit-remaining-tokens"] == str(1000 - 150 - 20)


async def test_default_completion_allowance_when_max_tokens_is_absent(
    quotas: QuotaService,
) -> None:
    held = await quotas.reserve(principal(tpm=10_000), model="m", prompt_tokens=30)
    assert held.demand.tokens == 130  # the fixture's default_completion_tokens is 100


async def test_a_request_larger_than_the_limit_is_400_not_429(quotas: QuotaService) -> None:
    with pytest.raises(InvalidRequestError, match="more than the key's tokens per minute") as e:
        await quotas.reserve(principal(tpm=100), model="m", prompt_tokens=50, max_tokens=51)
    assert e.value.status_code == 400
    assert e.value.param == "max_tokens"


async def test_tokens_per_day(quotas: QuotaService) -> None:
    caller = principal(tokens_per_day=300)
    await quotas.reserve(caller, model="m", prompt_tokens=100, max_tokens=100)
    with pytest.raises(QuotaExceededError, match="tokens per day") as refused:
        await quotas.reserve(caller, model="m", prompt_tokens=100, max_tokens=100)
    assert refused.value.limit == "tokens_per_day"
    # Retry-After points at the end of the UTC day.
    assert 1 <= int(refused.value.headers["retry-after"]) <= 86_400


async def test_monthly_budget_uses_the_dearest_deployment_then_the_real_one(
    quotas: QuotaService,
) -> None:
    # "priced" may be served by dear-b: 10 USD/M in, 20 USD/M out -> 1000+1000 tokens = 0.03 USD.
    caller = principal(monthly_budget_usd=0.05)
    held = await quotas.reserve(caller, model="priced", prompt_tokens=1000, max_tokens=1000)
    assert held.demand.cost_micro == 30_000
    with pytest.raises(QuotaExceededError, match="monthly budget") as refused:
        await quotas.reserve(caller, model="priced", prompt_tokens=1000, max_tokens=1000)
    assert refused.value.code == "insufficient_quota"
    assert refused.value.limit == "budget"
    # cheap-a served it: 1 USD/M in, 2 USD/M out, 1000 + 500 tokens = 0.002 USD.
    quotas.settle(
        held, model="priced", deployment="cheap-a", prompt_tokens=1000, completion_tokens=500
    )
    await quotas.drain()
    await quotas.reserve(caller, model="priced", prompt_tokens=1000, max_tokens=1000)
    with pytest.raises(InvalidRequestError, match="whole monthly budget"):
        await quotas.reserve(caller, model="priced", prompt_tokens=1000, max_tokens=10_000)


async def test_free_models_never_spend_a_budget(quotas: QuotaService) -> None:
    caller = principal(monthly_budget_usd=0)
    for _ in range(3):
        await quotas.reserve(caller, model="unpriced", prompt_tokens=10_000, max_tokens=10_000)


async def test_unlimited_keys_get_no_rate_limit_headers(quotas: QuotaService) -> None:
    held = await quotas.reserve(principal(), model="m", prompt_tokens=1)
    assert held.headers == {}


def test_reset_durations_read_like_openai() -> None:
    assert format_reset(20) == "20ms"
    assert format_reset(1000) == "1s"
    assert format_reset(1500) == "1.5s"
    assert format_reset(360_000) == "6m0s"
    assert format_reset(61_250) == "1m1.25s"


def test_prompt_estimate_counts_what_is_sent() -> None:
    body = {
        "model": "m",
        "messages": [
            {"role": "user", "content": "x" * 400},
            {"role": "user", "content": [{"type": "text", "text": "y" * 40}]},
        ],
        "tools": [{"type": "function", "function": {"name": "f" * 40}}],
    }
    # 400 + 40 + 40 text, 8 of roles, 4 + 8 of part and tool types: 500 chars / 4, + 4 a message.
    assert estimate_prompt_tokens(body) == 133
    assert estimate_prompt_tokens({"input": ["a" * 8, "b" * 8]}) == 4


async def test_a_key_without_limits_costs_no_redis_round_trip(
    quotas: QuotaService, redis_service: RedisForTests
) -> None:
    caller = principal()  # no rpm, tpm, tokens per day or budget
    held = await quotas.reserve(caller, model="priced", prompt_tokens=40, max_tokens=10)
    assert held.store == "none"
    assert held.headers == {}
    quotas.settle(held, model="priced", deployment=None, prompt_tokens=40, completion_tokens=9)
    await quotas.drain()
    limited = principal(rpm=100)
    await quotas.reserve(limited, model="priced", prompt_tokens=40)
    client = Redis.from_url(redis_service.url)
    try:
        assert [key async for key in client.scan_iter(match=f"*{caller.key_id}*")] == []
        assert [key async for key in client.scan_iter(match=f"*{limited.key_id}*")] != []
    finally:
        await client.aclose()
