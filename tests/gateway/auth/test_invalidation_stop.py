"""KeyChangeListener.stop returns within seconds whatever the listener is doing.

A gateway opened and closed at once stops its listener while it is still connecting and
subscribing; Redis may also be down or not answering. Each case uses a real Redis, or a real
loopback server that accepts connections and never answers (a frozen Redis).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.entry.runtime import EmbeddedRedis
from gateway.policy.auth import KeyCache, KeyChangeListener, key_change_channel
from tests.support.net import free_port
from tests.support.services import RedisForTests

STOP_WITHIN_S = 3.0


def listener_for(redis_url: str) -> tuple[KeyChangeListener, KeyCache]:
    cache = KeyCache(ttl_s=60, fallback_ttl_s=0.5)
    listener = KeyChangeListener(redis_url, cache, channel="stop-test:keys:changed", retry_s=0.1)
    return listener, cache


async def stop_within(listener: KeyChangeListener, *, within_s: float = STOP_WITHIN_S) -> None:
    """Runs ``listener.stop()``; fails the test if it has not returned within ``within_s``."""
    stopping = asyncio.create_task(listener.stop())
    done, _ = await asyncio.wait({stopping}, timeout=within_s)
    if not done:
        # Cancelling stop() cancels the listener task it waits on once more (what used to end
        # a hung stop: a test timeout), so that later tests on this loop find no stray task.
        stopping.cancel()
        await asyncio.wait({stopping}, timeout=within_s)
        pytest.fail(f"KeyChangeListener.stop() had not returned after {within_s}s")
    stopping.result()


async def wait_live(cache: KeyCache, *, within_s: float = 5.0) -> None:
    deadline = time.monotonic() + within_s
    while not cache.live:
        assert time.monotonic() < deadline, f"not subscribed within {within_s}s"
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[str]:
    """A Redis URL for a loopback server that accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.close()
        for writer in held:
            writer.close()
        await server.wait_closed()


async def test_stop_while_connecting_or_subscribing_returns_promptly(
    redis_service: RedisForTests,
) -> None:
    """Stopped at each step of connecting and subscribing, one event-loop turn apart.

    On Python 3.11 a single cancel can be lost inside redis-py (its writes go through
    ``asyncio.wait_for``, which returns instead of raising when the cancel lands just as the
    write completes); the listener then subscribed and ran on, and stop() waited for it forever.
    """
    channel = key_change_channel(redis_service.key_prefix)
    stopped_live = 0
    for _ in range(4):
        for turns in range(60):
            cache = KeyCache(ttl_s=60, fallback_ttl_s=0.5)
            listener = KeyChangeListener(redis_service.url, cache, channel=channel, retry_s=0.1)
            listener.start()
            for _ in range(turns):
                await asyncio.sleep(0)
            stopped_live += cache.live
            await stop_within(listener)
            assert not cache.live
    # The sweep reached past the subscription, so it crossed every step before it.
    assert stopped_live > 0


async def test_stop_before_start_returns() -> None:
    listener, cache = listener_for(f"redis://127.0.0.1:{free_port()}/0")
    await stop_within(listener)
    assert not cache.live


async def test_stop_while_subscribed_returns_promptly(redis_service: RedisForTests) -> None:
    listener, cache = listener_for(redis_service.url)
    listener.start()
    await wait_live(cache)
    await stop_within(listener)
    assert not cache.live


async def test_stop_with_redis_down_returns_promptly() -> None:
    listener, cache = listener_for(f"redis://127.0.0.1:{free_port()}/0")
    listener.start()
    await asyncio.sleep(0.5)  # a few refused connections and retries
    await stop_within(listener)
    assert not cache.live


@pytest.mark.parametrize("after_s", [0.2, 2.5], ids=["handshake", "after-a-timeout"])
async def test_stop_with_a_server_that_never_answers_returns_promptly(after_s: float) -> None:
    async with silent_server() as url:
        listener, cache = listener_for(url)
        listener.start()
        await asyncio.sleep(after_s)
        await stop_within(listener)
    assert not cache.live


async def test_stop_with_redis_frozen_while_subscribed_returns_promptly(tmp_path: Path) -> None:
    redis = EmbeddedRedis(tmp_path / "redis", port=free_port(), persist=False)
    redis.start()
    assert redis.pid is not None
    try:
        listener, cache = listener_for(redis.url)
        listener.start()
        await wait_live(cache)
        os.kill(redis.pid, signal.SIGSTOP)
        await asyncio.sleep(1.5)  # the subscription's health-check ping goes unanswered
        await stop_within(listener)
        assert not cache.live
    finally:
        os.kill(redis.pid, signal.SIGCONT)
        redis.stop()
