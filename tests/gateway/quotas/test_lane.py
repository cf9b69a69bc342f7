"""The quota scripts' Redis lane against real Redis servers: pipelining keeps replies in
order, scripts load on demand, and a dead or silent Redis fails fast with redis-py's errors."""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import uvloop
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway.entry.runtime import EmbeddedRedis
from gateway.policy.quotas._lane import LuaScript, RedisLane
from tests.support.net import free_port
from tests.support.services import RedisForTests


@pytest.fixture
async def lane(redis_service: RedisForTests) -> AsyncIterator[RedisLane]:
    lane = RedisLane(redis_service.url, timeout_s=2)
    yield lane
    await lane.aclose()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "redis", port=free_port(), persist=False)
    server.start()
    yield server
    server.stop()


async def test_concurrent_commands_each_get_their_own_reply(lane: RedisLane) -> None:
    values = [secrets.token_hex(4) for _ in range(500)]
    replies = await asyncio.gather(*(lane.call("ECHO", value) for value in values))
    assert replies == [value.encode() for value in values]


async def test_commands_of_one_turn_run_in_the_order_they_were_issued(
    lane: RedisLane, redis_service: RedisForTests
) -> None:
    key = f"{redis_service.key_prefix}lane:{secrets.token_hex(4)}"
    try:
        counts = await asyncio.gather(*(lane.call("INCR", key) for _ in range(300)))
        assert counts == list(range(1, 301))
    finally:
        await lane.call("DEL", key)


async def test_a_script_is_loaded_when_redis_does_not_know_it(own_redis: EmbeddedRedis) -> None:
    own = RedisLane(own_redis.url, timeout_s=2)
    script = LuaScript(f"return {{ARGV[1], KEYS[1], '{secrets.token_hex(4)}'}}")
    try:
        assert await own.call("SCRIPT", "EXISTS", script.sha) == [0]
        first = await asyncio.gather(*(own.run(script, ["k"], [n]) for n in range(20)))
        assert [reply[:2] for reply in first] == [[str(n).encode(), b"k"] for n in range(20)]
        await own.call("SCRIPT", "FLUSH")  # as after a Redis restart
        assert (await own.run(script, ["again"], [7]))[:2] == [b"7", b"again"]
        await own.call("SCRIPT", "FLUSH")
        batch = await own.run_many(script, [(["a"], [1]), (["b"], [2]), (["c"], [3])])
        assert [reply[:2] for reply in batch] == [[b"1", b"a"], [b"2", b"b"], [b"3", b"c"]]
    finally:
        await own.aclose()


async def test_the_lane_runs_on_uvloop_as_in_the_gateway(redis_service: RedisForTests) -> None:
    async def scenario() -> list[object]:
        lane = RedisLane(redis_service.url, timeout_s=2)
        try:
            script = LuaScript("return ARGV[1]")
            echoes = await asyncio.gather(*(lane.call("ECHO", n) for n in range(50)))
            return [*echoes, await lane.run(script, ["k"], ["ok"])]
        finally:
            await lane.aclose()

    replies = await asyncio.to_thread(uvloop.run, scenario())
    assert replies == [str(n).encode() for n in range(50)] + [b"ok"]


async def test_an_error_reply_raises_and_the_lane_keeps_working(lane: RedisLane) -> None:
    with pytest.raises(ResponseError, match="unknown command"):
        await lane.call("NO-SUCH-COMMAND")
    assert await lane.call("PING") == b"PONG"


async def test_a_stopped_redis_fails_calls_and_a_restarted_one_is_reconnected(
    own_redis: EmbeddedRedis,
) -> None:
    lane = RedisLane(own_redis.url, timeout_s=2)
    try:
        assert await lane.call("SET", "k", "1") == b"OK"
        own_redis.stop()
        with pytest.raises(RedisConnectionError):
            await lane.call("GET", "k")
        with pytest.raises(RedisConnectionError):  # no server: connecting fails at once
            await lane.call("GET", "k")
        own_redis.start()
        assert await lane.call("PING") == b"PONG"
    finally:
        await lane.aclose()


async def test_a_silent_server_times_out_instead_of_hanging() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    lane = RedisLane(f"redis://127.0.0.1:{port}/0", timeout_s=0.3)
    try:
        started = time.monotonic()
        with pytest.raises(RedisTimeoutError):
            await asyncio.gather(lane.call("PING"), lane.call("PING"))
        assert time.monotonic() - started < 2
    finally:
        await lane.aclose()
        listener.close()


async def test_the_database_index_of_the_url_is_selected(own_redis: EmbeddedRedis) -> None:
    url = own_redis.url.rsplit("/", 1)[0] + "/5"
    lane = RedisLane(url, timeout_s=2)
    check, db0 = Redis.from_url(url), Redis.from_url(own_redis.url)
    try:
        await lane.call("SET", "in-db-5", "yes")
        assert await check.get("in-db-5") == b"yes"
        assert await db0.get("in-db-5") is None
    finally:
        await lane.aclose()
        await check.aclose()
        await db0.aclose()


async def test_a_deferred_command_leaves_with_the_next_write_or_at_its_deadline(
    lane: RedisLane, redis_service: RedisForTests
) -> None:
    """Settlements are sent deferred: alone they wait ``defer_s``; a command that cannot wait
    takes them along, and Redis still runs everything in the order it was issued."""
    key = f"{redis_service.key_prefix}lane:{secrets.token_hex(4)}"
    incr = LuaScript("return redis.call('INCR', KEYS[1])")
    try:
        assert await lane.call("PING") == b"PONG"  # connected: only the deferral is timed
        started = time.monotonic()
        alone = asyncio.ensure_future(lane.run_many(incr, [([key], [])], defer_s=0.3))
        await asyncio.sleep(0.1)
        assert not alone.done()
        assert await alone == [1]
        assert 0.25 <= time.monotonic() - started < 2

        started = time.monotonic()
        rider = asyncio.ensure_future(lane.run_many(incr, [([key], [])], defer_s=30))
        await asyncio.sleep(0.05)
        assert not rider.done()
        assert await lane.call("GET", key) == b"2"  # issued after the rider, run after it
        assert await rider == [2]
        assert time.monotonic() - started < 5
    finally:
        await lane.call("DEL", key)


async def test_an_idle_lane_writes_at_once_and_a_busy_one_shares_writes(
    own_redis: EmbeddedRedis,
) -> None:
    """The first command finds nothing in flight and leaves at once; the 19 issued while it
    is in flight go out together: Redis reads a few writes, not 20."""
    own = RedisLane(own_redis.url, timeout_s=2)
    stats = Redis.from_url(own_redis.url)
    try:
        assert await own.call("PING") == b"PONG"

        async def reads() -> int:
            return int((await stats.info("stats"))["total_reads_processed"])

        before = await reads()
        replies = await asyncio.gather(*(own.call("ECHO", str(n)) for n in range(20)))
        assert replies == [str(n).encode() for n in range(20)]
        assert await reads() - before <= 5  # the lane's 2-3 writes and INFO itself
    finally:
        await stats.aclose()
        await own.aclose()
