"""Connections the gateway holds for its lifetime: the Postgres pool and the Redis client."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from configs import Settings
from ingestion.db import open_pool

__all__ = ["Resources"]


@dataclass(slots=True)
class Resources:
    """Opened once per process at start-up, closed at shutdown."""

    pool: AsyncConnectionPool
    redis: Redis

    @classmethod
    async def open(cls, settings: Settings, *, database_url: str, redis_url: str) -> Resources:
        pool = await open_pool(database_url, settings.database, application_name="ragway-gateway")
        client = Redis.from_url(
            redis_url,
            socket_timeout=settings.redis.socket_timeout_s,
            socket_connect_timeout=settings.redis.socket_timeout_s,
        )
        return cls(pool=pool, redis=client)

    async def close(self) -> None:
        await self.redis.aclose()
        await self.pool.close()
