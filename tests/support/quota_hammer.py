"""One process hammering one key's quota: ``python -m tests.support.quota_hammer``.

Arguments: redis URL, key prefix, requests per key, start time (epoch s), then one
``key_id:rpm:tokens_per_day`` per key. Each request reserves 3 + 4 tokens. Prints one JSON
object: per key id, how many reservations were admitted and refused, by limit.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter

from configs import QuotaSettings
from gateway.platform.prices import PriceBook
from gateway.policy.auth import Principal
from gateway.policy.quotas import QuotaExceededError, QuotaService, RedisLane


async def hammer(url: str, prefix: str, n: int, specs: list[str]) -> dict[str, Counter[str]]:
    client = RedisLane(url, timeout_s=5)
    service = QuotaService(
        redis=client, settings=QuotaSettings(), key_prefix=prefix, prices=PriceBook({})
    )
    outcomes: dict[str, Counter[str]] = {}
    semaphore = asyncio.Semaphore(32)

    async def one(caller: Principal) -> None:
        async with semaphore:
            try:
                await service.reserve(caller, model="m", prompt_tokens=3, max_tokens=4)
                outcomes[caller.key_id]["admitted"] += 1
            except QuotaExceededError as exc:
                outcomes[caller.key_id][exc.limit] += 1

    callers = []
    for spec in specs:
        key_id, rpm, per_day = spec.split(":")
        outcomes[key_id] = Counter()
        callers.append(
            Principal(
                key_id=key_id,
                name="hammer",
                role="member",
                display_prefix="sk-rgw-x",
                rpm=int(rpm) or None,
                tokens_per_day=int(per_day) or None,
            )
        )
    await asyncio.gather(*(one(caller) for _ in range(n) for caller in callers))
    await client.aclose()
    return outcomes


def main() -> None:
    url, prefix, n, start, *specs = sys.argv[1:]
    time.sleep(max(0.0, float(start) - time.time()))
    outcomes = asyncio.run(hammer(url, prefix, int(n), specs))
    print(json.dumps(dict(outcomes)))


if __name__ == "__main__":
    main()
