"""Every Redis role through Sentinel: settings, and each kind of client ragway holds (the
broker's, the gateway's asyncio client, the quota lane, the key-change subscription)
reaching the new master after the old one is SIGKILLed."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import dramatiq
import pytest
import redis

from configs import Settings, SettingsError, WorkerSettings, load_settings
from gateway.platform.urls import require_urls
from gateway.policy.auth import KeyCache, KeyChangeListener, Principal, RedisKeyEvents
from gateway.policy.quotas import RedisLane
from ingestion.queue import build_broker
from ingestion.redis_clients import RedisConnector
from tests.support.sentinel import DOWN_AFTER_MS, SERVICE, SentinelCluster

# Detection (down-after) plus the sentinels' election and the promotion: a few seconds.
FAILOVER_WITHIN_S = DOWN_AFTER_MS / 1000 + 9
# After the sentinels name the new master, a client's next attempts reach it within this.
RECONNECT_WITHIN_S = 5.0


def sentinel_settings(cluster: SentinelCluster, **env: str) -> Settings:
    return load_settings(
        config_files=[], env={**cluster.env(), "DATABASE_URL": "postgresql:///x", **env}
    )


def test_sentinel_settings_need_no_redis_url_and_take_passwords_from_the_environment_only(
    tmp_path: Path,
) -> None:
    settings = load_settings(
        config_files=[],
        env={
            "DATABASE_URL": "postgresql:///x",
            "RAGWAY_REDIS__SENTINEL__ADDRESSES": '["10.0.0.1:26379", "[::1]:26380"]',
            "REDIS_SENTINEL_PASSWORD": "s3cret",
            "REDIS_PASSWORD": "d4ta",
        },
    )
    sentinel = settings.redis.sentinel
    assert sentinel.enabled
    assert sentinel.hosts() == [("10.0.0.1", 26379), ("::1", 26380)]
    assert require_urls(settings) == ("postgresql:///x", None)
    connector = RedisConnector.from_settings(settings.redis)
    assert connector.uses_sentinel
    assert "s3cret" not in connector.describe()
    assert "d4ta" not in repr(settings.redis)
    assert "s3cret" not in repr(settings.redis)
    for text, variable in (
        ("redis:\n  password: x\n", "REDIS_PASSWORD"),
        ("redis:\n  sentinel:\n    password: x\n", "REDIS_SENTINEL_PASSWORD"),
    ):
        config = tmp_path / "c.yaml"
        config.write_text(text)
        with pytest.raises(SettingsError, match=variable):
            load_settings(config_files=[config], env={})
    with pytest.raises(SettingsError, match="not host:port"):
        load_settings(config_files=[], env={"RAGWAY_REDIS__SENTINEL__ADDRESSES": '["nohost"]'})
    # Without Sentinel, REDIS_URL is still required.
    with pytest.raises(SettingsError, match="REDIS_URL"):
        require_urls(load_settings(config_files=[], env={"DATABASE_URL": "postgresql:///x"}))


async def _eventually(attempt: Callable[[], Awaitable[Any]], *, within_s: float) -> float:
    """Seconds until ``attempt()`` succeeds (each failure a Redis error), or fail."""
    started = time.monotonic()
    while True:
        try:
            await attempt()
            return time.monotonic() - started
        except (redis.RedisError, OSError):
            if time.monotonic() - started > within_s:
                raise
            await asyncio.sleep(0.05)


async def test_every_client_reaches_the_new_master_after_the_old_one_is_killed(
    sentinels: SentinelCluster,
) -> None:
    settings = sentinel_settings(sentinels)
    connector = RedisConnector.from_settings(settings.redis)
    prefix = f"sentinel-test-{secrets.token_hex(4)}:"
    sync = connector.client()
    aio = connector.async_client()
    lane = RedisLane(connector, timeout_s=1)
    broker = build_broker(connector, WorkerSettings(namespace=f"{prefix}dramatiq", queues=("q",)))
    cache = KeyCache(ttl_s=60, fallback_ttl_s=1)
    listener = KeyChangeListener(connector, cache, channel=f"{prefix}keys", retry_s=0.1)
    events = RedisKeyEvents(aio, channel=f"{prefix}keys")

    def message(n: int) -> dramatiq.Message[Any]:
        return dramatiq.Message(queue_name="q", actor_name="a", args=(n,), kwargs={}, options={})

    try:
        listener.start()
        sync.set(f"{prefix}sync", "before")
        await aio.set(f"{prefix}async", "before")
        assert await lane.call("SET", f"{prefix}lane", "before") == b"OK"
        broker.enqueue(message(1))
        await _wait(lambda: cache.live, within_s=5)
        old = sentinels.master_port()
        assert sentinels.data_client(old).get(f"{prefix}sync") == b"before"
        _wait_replicated(sentinels, f"{prefix}lane")

        killed = sentinels.kill_master()
        failover_s = sentinels.wait_failover(killed, timeout_s=FAILOVER_WITHIN_S)
        new = sentinels.master_port()
        assert new != killed

        reconnect = {
            "sync": await _eventually(
                lambda: asyncio.to_thread(sync.set, f"{prefix}sync", "after"),
                within_s=RECONNECT_WITHIN_S,
            ),
            "async": await _eventually(
                lambda: aio.set(f"{prefix}async", "after"), within_s=RECONNECT_WITHIN_S
            ),
            "lane": await _eventually(
                lambda: lane.call("SET", f"{prefix}lane", "after"), within_s=RECONNECT_WITHIN_S
            ),
            "broker": await _eventually(
                lambda: asyncio.to_thread(broker.enqueue, message(2)),
                within_s=RECONNECT_WITHIN_S,
            ),
        }
        # The subscription is back on the new master, and a key change published there
        # reaches this process's cache.
        await _wait(lambda: cache.live, within_s=RECONNECT_WITHIN_S)
        principal = Principal(key_id="key_x", name="x", role="member", display_prefix="sk-rgw-x")
        cache.put(b"digest", principal, cache.generation)
        await _wait_published(events, "key_x", cache)

        data = sentinels.data_client(new)
        for name in ("sync", "async", "lane"):
            assert data.get(f"{prefix}{name}") == b"after", name
        assert broker.depth("q") == 2  # the message from before the fail-over was replicated
        print(f"fail-over {failover_s:.2f}s; reconnects {reconnect}")
    finally:
        await listener.stop()
        await lane.aclose()
        await aio.aclose()
        sync.close()
        broker.close()


async def _wait(condition: Callable[[], bool], *, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, f"not within {within_s}s"
        await asyncio.sleep(0.02)


async def _wait_published(events: RedisKeyEvents, key_id: str, cache: KeyCache) -> None:
    """Announce a change until the cache has dropped the key (the first announcement may
    leave on a connection that is only now reconnecting)."""
    deadline = time.monotonic() + RECONNECT_WITHIN_S
    while cache.get(b"digest")[0]:
        assert time.monotonic() < deadline, "the key change never reached the cache"
        await events.key_changed(key_id)
        await asyncio.sleep(0.1)


def _wait_replicated(cluster: SentinelCluster, key: str) -> None:
    replica = next(p for n, p in cluster.ports.items() if n == "replica")
    deadline = time.monotonic() + 5
    with cluster.data_client(replica) as client:
        while client.get(key) is None:
            assert time.monotonic() < deadline, "the replica never got the write"
            time.sleep(0.02)


def test_the_service_name_must_match(sentinels: SentinelCluster) -> None:
    settings = sentinel_settings(sentinels, RAGWAY_REDIS__SENTINEL__SERVICE_NAME="no-such")
    client = RedisConnector.from_settings(settings.redis).client()
    with pytest.raises(redis.ConnectionError, match="No master found for 'no-such'"):
        client.ping()
    client.close()
    assert SERVICE != "no-such"
