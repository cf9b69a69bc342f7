"""Hot-path cost of the access policy: ``python -m tests.benchmarks.policy``.

Baselines measured in the same run, against the same embedded Redis:
- quota reserve (QuotaService.reserve: estimate, one EVALSHA, headers) vs a bare EVALSHA of
  a trivial script on the same client -- the Redis round trip is the floor;
- warm-key authentication (DatabaseAuthenticator on a live KeyCache) vs one SHA-256;
- the quota step's per-chunk work on a stream: metered (a key with a budget: the answer is
  counted and priced) and unmetered (no budget), vs the no-op ``Hook.on_chunk``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from redis.asyncio import Redis

from configs import QuotaSettings
from gateway.entry.runtime import EmbeddedRedis
from gateway.platform.prices import Price, PriceBook
from gateway.policy.auth import KeyCache, Principal
from gateway.policy.keys import hash_key, new_key
from gateway.policy.pipeline import Call, Hook
from gateway.policy.quotas import LuaScript, QuotaHook, QuotaService, RedisLane
from tests.support.net import free_port


async def per_op_us(step: Callable[[], Awaitable[object]], n: int) -> float:
    for _ in range(min(n, 200)):
        await step()
    start = time.perf_counter()
    for _ in range(n):
        await step()
    return (time.perf_counter() - start) / n * 1e6


async def run(n: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        redis_server = EmbeddedRedis(Path(folder), port=free_port(), persist=False)
        url = redis_server.start()
        client = Redis.from_url(url)
        lane = RedisLane(url, timeout_s=5)
        try:
            trivial = client.register_script("return 1")
            one = LuaScript("return 1")
            quotas = QuotaService(
                redis=lane, settings=QuotaSettings(), key_prefix="bench:", prices=PriceBook({})
            )
            caller = Principal(
                key_id="key_bench", name="bench", role="member", display_prefix="sk-rgw-x",
                rpm=10**9, tpm=10**9, tokens_per_day=10**12,
            )  # fmt: skip
            bare = await per_op_us(lambda: trivial(keys=["k"], args=[1]), n)
            bare_lane = await per_op_us(lambda: lane.run(one, ["k"], [1]), n)
            reserve = await per_op_us(
                lambda: quotas.reserve(caller, model="m", prompt_tokens=100, max_tokens=100), n
            )
            print(f"bare EVALSHA        {bare:8.1f} us/op  (redis-py)")
            print(f"bare EVALSHA, lane  {bare_lane:8.1f} us/op  ({bare_lane / bare:.2f}x redis-py)")
            print(f"quota reserve       {reserve:8.1f} us/op  ({reserve / bare:.2f}x bare)")
            await stream_chunks(lane, n * 10)
        finally:
            await client.aclose()
            await lane.aclose()
            redis_server.stop()

    cache = KeyCache(ttl_s=60, fallback_ttl_s=60)
    key = new_key()
    cache.put(key.key_hash, caller, cache.generation)

    async def warm_lookup() -> object:
        found, principal = cache.get(hash_key(key.plaintext))
        assert found
        assert principal is caller
        return principal

    async def sha() -> object:
        return hashlib.sha256(key.plaintext.encode()).digest()

    sha_us = await per_op_us(sha, n * 10)
    warm_us = await per_op_us(warm_lookup, n * 10)
    print(f"sha256 of the key   {sha_us:8.2f} us/op")
    print(f"warm key lookup     {warm_us:8.2f} us/op  ({warm_us / sha_us:.2f}x sha256)")


async def stream_chunks(lane: RedisLane, n: int) -> None:
    prices = PriceBook({"d": Price(1.0, 2.0)}, aliases={"m": ["d"]})
    quotas = QuotaService(redis=lane, settings=QuotaSettings(), key_prefix="bench:", prices=prices)
    hook = QuotaHook(quotas, chars_per_token=4.0)
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    chunk = {
        "id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": [{"index": 0, "delta": {"content": "word "}, "finish_reason": None}],
    }  # fmt: skip

    async def started(budget_usd: float | None) -> Call:
        principal = Principal(
            key_id="key_meter", name="meter", role="member", display_prefix="sk-rgw-x",
            monthly_budget_usd=budget_usd,
        )  # fmt: skip
        call = Call("r", "chat.completions", 0.0, principal=principal, body=dict(body))
        call.model, call.stream = "m", True
        await hook.on_request(call)
        return call

    metered = await started(1e9)
    unmetered = await started(None)
    noop = Hook()
    base = await per_op_us(lambda: noop.on_chunk(unmetered, chunk), n)
    off = await per_op_us(lambda: hook.on_chunk(unmetered, chunk), n)
    on = await per_op_us(lambda: hook.on_chunk(metered, chunk), n)
    assert not metered.end_stream
    print(f"chunk, no-op hook   {base:8.2f} us/op")
    print(f"chunk, unmetered    {off:8.2f} us/op  ({off / base:.2f}x no-op)")
    print(f"chunk, metered      {on:8.2f} us/op  ({on / base:.2f}x no-op)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=5000, help="operations per measurement")
    asyncio.run(run(parser.parse_args().n))


if __name__ == "__main__":
    main()
