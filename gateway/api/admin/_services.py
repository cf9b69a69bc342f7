"""The access-policy services of one gateway process, built once in the app's lifespan.

Shared by the admin API (keys, usage report) and the pipeline hooks (authenticator,
quotas, usage ledger). ``open`` starts their background tasks; ``close`` stops them after
writing out what they hold (settlements, usage rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from configs import Settings
from gateway.policy.auth import (
    DatabaseAuthenticator,
    KeyCache,
    KeyChangeListener,
    RedisKeyEvents,
    key_change_channel,
)
from gateway.policy.keys import KeyService
from gateway.policy.pipeline import Hook
from gateway.policy.quotas import QuotaHook, QuotaService, RedisLane
from gateway.policy.usage import (
    Price,
    PriceBook,
    SpendLedger,
    UsageHook,
    UsageRecorder,
    UsageReport,
)

__all__ = ["PolicyServices", "price_book"]


def price_book(settings: Settings) -> PriceBook:
    """Prices from the configured deployments (``providers.models``)."""
    prices: dict[str, Price] = {}
    aliases: dict[str, Sequence[str]] = {}
    for alias, model in settings.providers.models.items():
        aliases[alias] = [d.name for d in model.deployments]
        for deployment in model.deployments:
            prices[deployment.name] = Price(
                deployment.input_price_per_1m, deployment.output_price_per_1m
            )
    return PriceBook(prices, aliases)


@dataclass(slots=True)
class PolicyServices:
    authenticator: DatabaseAuthenticator
    key_cache: KeyCache
    keys: KeyService
    quotas: QuotaService
    prices: PriceBook
    usage: UsageRecorder
    usage_report: UsageReport
    _listener: KeyChangeListener
    _quota_redis: RedisLane
    _shutdown_timeout_s: float
    _chars_per_token: float

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        pool: AsyncConnectionPool,
        redis: Redis,
        redis_url: str,
        prices: PriceBook | None = None,
    ) -> PolicyServices:
        """``redis`` is the process's shared client (used to announce key changes)."""
        policy = settings.policy
        channel = key_change_channel(settings.redis.key_prefix)
        cache = KeyCache(
            ttl_s=policy.keys.ttl_s,
            fallback_ttl_s=policy.keys.fallback_ttl_s,
            max_entries=policy.keys.max_entries,
        )
        listener = KeyChangeListener(redis_url, cache, channel=channel)
        # Quotas get their own lean pipelined connection (one script per API request is on
        # the hot path); a closed connection is reopened by the next command.
        quota_redis = RedisLane(redis_url, timeout_s=settings.redis.socket_timeout_s)
        prices = prices or price_book(settings)
        quotas = QuotaService(
            redis=quota_redis,
            settings=policy.quotas,
            key_prefix=settings.redis.key_prefix,
            prices=prices,
            spend=SpendLedger(pool),
        )
        usage = UsageRecorder(pool, policy.usage)
        listener.start()
        quotas.start()
        usage.start()
        return cls(
            authenticator=DatabaseAuthenticator(pool, cache=cache),
            key_cache=cache,
            keys=KeyService(pool, events=RedisKeyEvents(redis, channel=channel)),
            quotas=quotas,
            prices=prices,
            usage=usage,
            usage_report=UsageReport(pool),
            _listener=listener,
            _quota_redis=quota_redis,
            _shutdown_timeout_s=settings.gateway.graceful_timeout_s,
            _chars_per_token=policy.quotas.chars_per_token,
        )

    def hooks(self) -> tuple[Hook, ...]:
        """The pipeline steps these services provide (QUOTA and USAGE); each knows its stage."""
        return (
            QuotaHook(self.quotas, chars_per_token=self._chars_per_token),
            UsageHook(self.usage, self.prices),
        )

    async def close(self) -> None:
        try:
            await self.quotas.close()
            await self.usage.close(timeout_s=self._shutdown_timeout_s)
        finally:
            await self._listener.stop()
            await self._quota_redis.aclose()
