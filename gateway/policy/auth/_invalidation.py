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
from ingestion.redis_clients import RedisConnector

__all__ = ["KeyChangeListener", "RedisKeyEvents", "key_change_channel"]

_log = logging.getLogger(__name__)

# stop() cancels the listener every _STOP_POLL_S until it has ended, for at most _STOP_WAIT_S.
_STOP_POLL_S = 0.1
_STOP_WAIT_S = 2.0


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


async def _end(task: asyncio.Task[None]) -> None:
    """Cancels ``task`` until it has ended, or leaves it after ``_STOP_WAIT_S``.

    One cancel is not enough on Python 3.11: redis-py sends commands through
    ``asyncio.wait_for``, which there returns instead of raising when the cancel lands just as
    the send completes (CPython gh-86296), and the task runs on as if never cancelled. The
    listener also ends by itself once it sees ``_stopping`` (within ``retry_s``, or a socket
    timeout while Redis does not answer), so a task left behind here ends soon after.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _STOP_WAIT_S
    while not task.done():
        left = deadline - loop.time()
        if left <= 0:
            _log.warning("key-change listener still running after stop; left to end by itself")
            return
        task.cancel()
        await asyncio.wait({task}, timeout=min(_STOP_POLL_S, left))
    if not task.cancelled():
        task.result()  # an error other than a cancel is a bug: let it show


class KeyChangeListener:
    """Keeps one subscription to the key-change channel and drops changed keys from the cache.

    While subscribed the cache is ``live``; when the subscription breaks it falls back to short
    TTLs and the listener resubscribes every ``retry_s`` until Redis answers again. It owns its
    connection: no silent reconnects (a gap could hide a change) and a ping each second, so a
    broken subscription is noticed within about a second.
    """

    def __init__(
        self, redis: str | RedisConnector, cache: KeyCache, *, channel: str, retry_s: float = 0.5
    ) -> None:
        # With Sentinel, each resubscription connects to the master the sentinels name now.
        self._redis = RedisConnector.of(redis).async_client(
            retry=Retry(NoBackoff(), 0),
            health_check_interval=1,
            socket_timeout=2.0,
            socket_connect_timeout=2.0,
        )
        self._cache = cache
        self._channel = channel
        self._retry_s = retry_s
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="key-change-listener")

    async def stop(self) -> None:
        """Ends the subscription and closes the connection, within about ``_STOP_WAIT_S``
        whatever the listener is doing (connecting, subscribing, Redis down or not answering)."""
        self._stopping = True
        if self._task is not None:
            await _end(self._task)
            if self._task.done():
                self._task = None
        self._cache.set_live(False)
        try:
            await self._redis.aclose()
        except (RedisError, OSError) as exc:
            _log.warning("key-change connection not closed cleanly", extra={"error": str(exc)})

    async def _run(self) -> None:
        while not self._stopping:
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
                if self._stopping:
                    return
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
