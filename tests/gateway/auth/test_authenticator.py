"""DatabaseAuthenticator with a KeyCache kept coherent over real Redis pub/sub.

Two authenticators with their own pools, caches and listeners stand for two gateway
processes; the cross-process version through real gateway processes is in tests/gateway/admin.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis

from gateway.entry.runtime import EmbeddedRedis
from gateway.platform.errors import AuthenticationError
from gateway.policy.auth import (
    DatabaseAuthenticator,
    KeyCache,
    KeyChangeListener,
    Principal,
    RedisKeyEvents,
    key_change_channel,
)
from gateway.policy.keys import KeyService, KeyUpdate
from tests.support.net import free_port
from tests.support.policy import make_key, pool_for
from tests.support.services import RedisForTests


@asynccontextmanager
async def gateway_auth(
    database_url: str, redis_url: str, channel: str, *, ttl_s: float = 60.0
) -> AsyncIterator[tuple[DatabaseAuthenticator, KeyCache]]:
    """What one gateway process holds: a pool, a cache and a listener."""
    cache = KeyCache(ttl_s=ttl_s, fallback_ttl_s=0.5)
    listener = KeyChangeListener(redis_url, cache, channel=channel, retry_s=0.1)
    async with pool_for(database_url) as pool:
        listener.start()
        try:
            yield DatabaseAuthenticator(pool, cache=cache), cache
        finally:
            await listener.stop()


async def eventually(check: Callable[[], Awaitable[bool]], *, within_s: float) -> float:
    start = time.monotonic()
    while not await check():
        if time.monotonic() - start > within_s:
            raise AssertionError(f"not within {within_s}s")
        await asyncio.sleep(0.01)
    return time.monotonic() - start


async def wait_live(cache: KeyCache) -> None:
    async def live() -> bool:
        return cache.live

    await eventually(live, within_s=5)


def rejects(auth: DatabaseAuthenticator, token: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        try:
            await auth.authenticate(token)
        except AuthenticationError:
            return True
        return False

    return check


@pytest.fixture
async def keys(database_url: str, redis_service: RedisForTests) -> AsyncIterator[KeyService]:
    channel = key_change_channel(redis_service.key_prefix)
    redis = Redis.from_url(redis_service.url)
    async with pool_for(database_url) as pool:
        yield KeyService(pool, events=RedisKeyEvents(redis, channel=channel))
    await redis.aclose()


async def test_missing_unknown_and_expired_keys_are_401(
    database_url: str, keys: KeyService
) -> None:
    async with pool_for(database_url) as pool:
        auth = DatabaseAuthenticator(pool)
        with pytest.raises(AuthenticationError, match="missing API key") as missing:
            await auth.authenticate(None)
        assert missing.value.status_code == 401
        with pytest.raises(AuthenticationError, match="invalid API key"):
            await auth.authenticate("sk-rgw-not-a-key")
        soon = await make_key(keys, "exp", expires_at=datetime.now(UTC) + timedelta(seconds=1))
        principal = await auth.authenticate(soon.key)
        assert principal.key_id == soon.id
        await asyncio.sleep(1.1)
        with pytest.raises(AuthenticationError, match="expired") as expired:
            await auth.authenticate(soon.key)
        assert expired.value.code == "expired_api_key"


async def test_principal_carries_the_allowances(database_url: str, keys: KeyService) -> None:
    created = await make_key(
        keys,
        "allow",
        allowed_models=["gpt-4o*"],
        allowed_tools=["search_*"],
        readable_collections=["col_a"],
        rpm=7,
        tpm=700,
        tokens_per_day=7000,
        monthly_budget_usd=7.5,
        pii_policy="redact",
        metadata={"team": "t"},
    )
    async with pool_for(database_url) as pool:
        principal: Principal = await DatabaseAuthenticator(pool).authenticate(created.key)
    assert principal.may_use_model("gpt-4o-mini")
    assert not principal.may_use_model("claude")
    assert principal.may_use_tool("search_web")
    assert not principal.may_use_tool("shell")
    assert principal.may_read_collection("col_a")
    assert not principal.may_read_collection("col_b")
    assert (principal.rpm, principal.tpm, principal.tokens_per_day) == (7, 700, 7000)
    assert principal.monthly_budget_usd == 7.5
    assert principal.pii_policy == "redact"
    assert principal.metadata == {"team": "t"}


async def test_a_warm_key_needs_no_database(
    database_url: str, redis_service: RedisForTests, keys: KeyService
) -> None:
    created = await make_key(keys, "warm")
    channel = key_change_channel(redis_service.key_prefix)
    async with AsyncExitStack() as stack:
        cache = KeyCache(ttl_s=60, fallback_ttl_s=60)
        pool = await stack.enter_async_context(pool_for(database_url))
        auth = DatabaseAuthenticator(pool, cache=cache)
        listener = KeyChangeListener(redis_service.url, cache, channel=channel)
        listener.start()
        stack.push_async_callback(listener.stop)
        await wait_live(cache)
        await auth.authenticate(created.key)
        await pool.close()  # any database access now fails
        for _ in range(1000):
            assert (await auth.authenticate(created.key)).key_id == created.id


async def test_revoke_and_update_reach_every_process_within_a_second(
    database_url: str, redis_service: RedisForTests, keys: KeyService
) -> None:
    channel = key_change_channel(redis_service.key_prefix)
    created = await make_key(keys, "coherent", rpm=5)
    async with (
        gateway_auth(database_url, redis_service.url, channel) as (first, first_cache),
        gateway_auth(database_url, redis_service.url, channel) as (second, second_cache),
    ):
        await wait_live(first_cache)
        await wait_live(second_cache)
        for auth in (first, second):
            assert (await auth.authenticate(created.key)).rpm == 5

        await keys.update(created.id, KeyUpdate.model_validate({"rpm": 9}))

        async def updated_everywhere() -> bool:
            return all([(await a.authenticate(created.key)).rpm == 9 for a in (first, second)])

        assert await eventually(updated_everywhere, within_s=1.0) < 1.0

        await keys.revoke(created.id)
        for auth in (first, second):
            assert await eventually(rejects(auth, created.key), within_s=1.0) < 1.0

        rotated_from = await make_key(keys, "rotating")
        for auth in (first, second):
            await auth.authenticate(rotated_from.key)
        rotated = await keys.rotate(rotated_from.id)
        for auth in (first, second):
            await eventually(rejects(auth, rotated_from.key), within_s=1.0)
            assert (await auth.authenticate(rotated.key)).key_id == rotated_from.id


async def test_with_redis_down_changes_still_apply_within_the_fallback_ttl(
    database_url: str, redis_service: RedisForTests, keys: KeyService, tmp_path: Path
) -> None:
    port = free_port()
    redis = EmbeddedRedis(tmp_path / "redis", port=port, persist=False)
    redis.start()
    channel = "auth-test:keys:changed"
    created = await make_key(keys, "outage")
    try:
        async with gateway_auth(database_url, redis.url, channel, ttl_s=3600) as (auth, cache):
            await wait_live(cache)
            await auth.authenticate(created.key)
            redis.stop()

            async def not_live() -> bool:
                return not cache.live

            await eventually(not_live, within_s=2.0)
            # The announcement goes to the session's Redis, which this process does not hear.
            await keys.revoke(created.id)
            assert await eventually(rejects(auth, created.key), within_s=1.0) < 1.0

            redis.start()
            await wait_live(cache)
    finally:
        redis.stop()


def test_the_listener_runs_the_retry_policy_it_configures() -> None:
    """No retries on the subscription's connection (a gap could hide a key change): given as
    redis-py's asyncio ``Retry``, so redis-py neither converts it nor warns about it."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        KeyChangeListener("redis://127.0.0.1:9/0", KeyCache(ttl_s=1, fallback_ttl_s=1), channel="c")
