"""The one way every process reaches Redis: a URL, or the master Redis Sentinel names.

Every Redis role (quotas, key invalidation, console sessions, the Dramatiq broker, the
worker's ping store) gets its client here. With Sentinel, clients come from
``Sentinel(...).master_for(...)``: each new connection asks the sentinels for the current
master, and a connection to a master that was demoted (``READONLY``) is dropped, so after a
fail-over every client reconnects to the new master. The quota lane, which keeps a
connection of its own, asks :meth:`RedisConnector.master` on each connect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio
import redis.asyncio.sentinel
import redis.sentinel
from redis.asyncio.connection import SSLConnection, UnixDomainSocketConnection, parse_url

from configs import RedisSettings, SentinelSettings, SettingsError

__all__ = ["RedisAddress", "RedisConnector"]


@dataclass(frozen=True, slots=True)
class RedisAddress:
    """Where one Redis server listens, and how to log in to it."""

    host: str = "localhost"
    port: int = 6379
    path: str | None = None  # a unix socket
    tls: bool = False
    db: int = 0
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> RedisAddress:
        options: dict[str, Any] = dict(parse_url(url))
        kind = options.get("connection_class")
        return cls(
            host=options.get("host") or "localhost",
            port=int(options.get("port") or 6379),
            path=options.get("path") if kind is UnixDomainSocketConnection else None,
            tls=kind is SSLConnection,
            db=int(options.get("db") or 0),
            username=options.get("username"),
            password=options.get("password"),
        )


class _SentinelRedis(redis.Redis):
    """A ``master_for`` client that also closes its sentinels' connections."""

    def close(self) -> None:
        pool = self.connection_pool
        try:
            super().close()
        finally:
            if isinstance(pool, redis.sentinel.SentinelConnectionPool):
                pool.sentinel_manager.close()


class _AsyncSentinelRedis(redis.asyncio.Redis):
    """The asyncio ``master_for`` client that also closes its sentinels' connections."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        pool = self.connection_pool
        try:
            await super().aclose(close_connection_pool)
        finally:
            if isinstance(pool, redis.asyncio.sentinel.SentinelConnectionPool):
                await pool.sentinel_manager.aclose()


@dataclass(frozen=True)
class RedisConnector:
    """Builds Redis clients for one deployment: from ``url``, or through ``sentinel``."""

    url: str | None
    sentinel: SentinelSettings
    password: str | None = None
    socket_timeout_s: float = 2.0

    @classmethod
    def from_settings(cls, settings: RedisSettings, url: str | None = None) -> RedisConnector:
        """``url`` (else ``settings.url``) unless ``settings.sentinel`` is on, which wins."""
        if url is None and settings.url is not None:
            url = settings.url.get_secret_value()
        if not settings.sentinel.enabled and not url:
            raise SettingsError("no Redis: set REDIS_URL, or redis.sentinel.addresses")
        return cls(
            url=None if settings.sentinel.enabled else url,
            sentinel=settings.sentinel,
            password=settings.password.get_secret_value() if settings.password else None,
            socket_timeout_s=settings.socket_timeout_s,
        )

    @classmethod
    def of(cls, target: str | RedisConnector) -> RedisConnector:
        """A connector for a plain URL (tests, tools), or ``target`` itself."""
        if isinstance(target, RedisConnector):
            return target
        return cls(url=target, sentinel=SentinelSettings())

    @property
    def uses_sentinel(self) -> bool:
        return self.sentinel.enabled

    def describe(self) -> str:
        """Where Redis is, for logs: never a password."""
        if self.uses_sentinel:
            return f"sentinel service {self.sentinel.service_name!r} via " + ",".join(
                self.sentinel.addresses
            )
        address = RedisAddress.from_url(self._url())
        return address.path or f"{address.host}:{address.port}/{address.db}"

    def client(self, **options: Any) -> redis.Redis:
        """A blocking client (``options``: redis-py's, e.g. ``socket_timeout``)."""
        options.setdefault("socket_timeout", self.socket_timeout_s)
        options.setdefault("socket_connect_timeout", self.socket_timeout_s)
        if not self.uses_sentinel:
            return redis.Redis.from_url(self._url(), **options)
        manager = redis.sentinel.Sentinel(
            self.sentinel.hosts(), sentinel_kwargs=self._sentinel_kwargs(), **self._master()
        )
        client: redis.Redis = manager.master_for(
            self.sentinel.service_name, redis_class=_SentinelRedis, **options
        )
        return client

    def async_client(self, **options: Any) -> redis.asyncio.Redis:
        """An asyncio client (``options``: redis-py's)."""
        options.setdefault("socket_timeout", self.socket_timeout_s)
        options.setdefault("socket_connect_timeout", self.socket_timeout_s)
        if not self.uses_sentinel:
            return redis.asyncio.Redis.from_url(self._url(), **options)
        manager = redis.asyncio.sentinel.Sentinel(
            self.sentinel.hosts(), sentinel_kwargs=self._sentinel_kwargs(), **self._master()
        )
        client: redis.asyncio.Redis = manager.master_for(
            self.sentinel.service_name, redis_class=_AsyncSentinelRedis, **options
        )
        return client

    def locator(self) -> MasterLocator:
        """What a hand-made connection asks for the master's address before each connect."""
        return MasterLocator(self)

    def _url(self) -> str:
        assert self.url is not None  # from_settings/of never build one without either
        return self.url

    def _master(self) -> dict[str, Any]:
        return {"password": self.password, "db": self.sentinel.db}

    def _sentinel_kwargs(self) -> dict[str, Any]:
        timeout = self.sentinel.socket_timeout_s
        password = self.sentinel.password
        return {
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
            "password": password.get_secret_value() if password else None,
        }


class MasterLocator:
    """The current master's address: fixed for a URL, asked of the sentinels otherwise."""

    def __init__(self, connector: RedisConnector) -> None:
        self._connector = connector
        self._fixed = None if connector.uses_sentinel else RedisAddress.from_url(connector._url())
        self._sentinel: redis.asyncio.sentinel.Sentinel | None = None

    async def master(self) -> RedisAddress:
        """Raises ``redis.ConnectionError`` (``MasterNotFoundError``) when no sentinel names
        a master that is up."""
        if self._fixed is not None:
            return self._fixed
        connector = self._connector
        if self._sentinel is None:
            self._sentinel = redis.asyncio.sentinel.Sentinel(
                connector.sentinel.hosts(), sentinel_kwargs=connector._sentinel_kwargs()
            )
        host, port = await self._sentinel.discover_master(connector.sentinel.service_name)
        return RedisAddress(
            host=str(host), port=int(port), db=connector.sentinel.db, password=connector.password
        )

    async def aclose(self) -> None:
        if self._sentinel is not None:
            sentinel, self._sentinel = self._sentinel, None
            await sentinel.aclose()
