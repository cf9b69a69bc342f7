"""Key changes over Redis pub/sub: announced by whoever changes a key, heard by every gateway."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from gateway.policy.auth._cache import KeyCache

__all__ = ["KeyChangeListener", "RedisKeyEvents", "key_change_channel"]

_log = logging.getLogger(__name__)


def key_change_channel(key_prefix: str) -> str:
    return f"{key_prefix}keys:changed"


class RedisKeyEvents:
    """Publishes a changed key's id; implements ``gateway.policy.keys.KeyEvents``."""

    def __init__(self, redis: Redis, *, channel: str) -> None:
        self._redis = redis
        self._channel = channel

    async def key_changed(self, key_id: str) -> None:
        try:
            await self._redis.publish(self._channel, key_id)
        except (RedisError, OSError) as exc:
            # Gateways that cannot hear us cannot reach Redis either, so they are on the short
            # fallback TTL; the change still reaches them within policy.keys.fallback_ttl_s.
            _log.warning(
                "key change not announced (Redis unreachable)",
                extra={"key_id": key_id, "error": str(exc)},
            )


class KeyChangeListener:
    """Keeps one subscription to the key-change channel and drops changed keys from the cache.

    While subscribed the cache is ``live``; when the subscription breaks it falls back to short
    TTLs and the listener resubscribes every ``retry_s`` until Redis answers again. It owns its
    connection: no silent reconnects (a gap could hide a change) and a ping each second, so a
    broken subscription is noticed within about a second.
    """

    def __init__(
        self, redis_url: str, cache: KeyCache, *, channel: str, retry_s: float = 0.5
    ) -> None:
        self._redis = Redis.from_url(
            redis_url,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=1,
            socket_timeout=2.0,
            socket_connect_timeout=2.0,
        )
        self._cache = cache
        self._channel = channel
        self._retry_s = retry_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="key-change-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._cache.set_live(False)
        await self._redis.aclose()

    async def _run(self) -> None:
        while True:
            try:
                await self._listen()
            except (RedisError, OSError) as exc:
                if self._cache.live:
                    _log.warning(
                        "key-change subscription lost; keys are cached briefly until it is back",
                        extra={"error": str(exc)},
                    )
                self._cache.set_live(False)
            await asyncio.sleep(self._retry_s)

    async def _listen(self) -> None:
        pubsub = self._redis.pubsub()
        try:
            await pubsub.subscribe(self._channel)
            while True:
                message = await pubsub.get_message(timeout=self._retry_s)
                if message is None:
                    continue
                if message["type"] == "subscribe":
                    if not self._cache.live:
                        _log.info("key-change subscription active")
                    # Changes published before this moment were not heard: start over.
                    self._cache.set_live(True)
                    self._cache.clear()
                elif message["type"] == "message":
                    data = message["data"]
                    self._cache.drop_key(data.decode() if isinstance(data, bytes) else str(data))
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()
