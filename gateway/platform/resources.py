"""Connections the gateway holds for its lifetime: the Postgres pool and the Redis client."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from configs import Settings
from ingestion.db import open_pool
from ingestion.redis_clients import RedisConnector

__all__ = ["Resources"]


@dataclass(slots=True)
class Resources:
    """Opened once per process at start-up, closed at shutdown."""

    pool: AsyncConnectionPool
    redis: Redis
    redis_connector: RedisConnector  # how every other Redis client of the process connects
    read_pool: AsyncConnectionPool | None = None  # database.read_url: a replica, for search

    @property
    def search_pool(self) -> AsyncConnectionPool:
        """Where vector-store search and chat retrieval read: the replica when there is one."""
        return self.pool if self.read_pool is None else self.read_pool

    @classmethod
    async def open(
        cls, settings: Settings, *, database_url: str, redis_url: str | None
    ) -> Resources:
        """``redis_url`` is not used when ``redis.sentinel`` names the master."""
        connector = RedisConnector.from_settings(settings.redis, url=redis_url)
        pool = await open_pool(database_url, settings.database, application_name="ragway-gateway")
        read_pool = None
        if settings.database.read_url is not None:
            read_pool = await open_pool(
                settings.database.read_url.get_secret_value(),
                settings.database,
                application_name="ragway-gateway-read",
            )
        return cls(
            pool=pool,
            redis=connector.async_client(),
            redis_connector=connector,
            read_pool=read_pool,
        )

    async def close(self) -> None:
        await self.redis.aclose()
        if self.read_pool is not None:
            await self.read_pool.close()
        await self.pool.close()
