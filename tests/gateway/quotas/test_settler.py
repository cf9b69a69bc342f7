"""Settlements are applied in batches: the background task wakes once per batch window, not
once per request, and what is queued at shutdown is still applied."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from gateway.policy.quotas._settler import Settler
from gateway.policy.quotas._types import Demand, Period, Reservation, Settlement


def _settlement(n: int, store: str = "redis") -> Settlement:
    period = Period(day="2026-11-26", month="2026-11", day_left_s=60, month_left_s=600)
    reservation = Reservation(f"key_{n}", store, "w", period, Demand(10, 5), {})  # type: ignore[arg-type]
    return Settlement(reservation, n, 0)


class Recorder:
    """A store's apply: records each batch it was given."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    async def __call__(self, items: Sequence[Settlement]) -> None:
        self.batches.append([item.token_delta for item in items])


async def test_settlements_of_one_window_are_applied_as_one_batch() -> None:
    redis, local = Recorder(), Recorder()
    settler = Settler({"redis": redis, "local": local}, batch_s=0.05)
    settler.start()
    for n in range(10):
        settler.submit(_settlement(n))
        await asyncio.sleep(0.001)  # requests finishing one after another
    settler.submit(_settlement(99, store="local"))
    await asyncio.sleep(0.15)
    assert redis.batches == [list(range(10))]
    assert local.batches == [[99]]
    settler.submit(_settlement(100))  # a later window: a batch of its own
    await settler.close()  # shutdown applies it without waiting for the window
    assert redis.batches == [list(range(10)), [100]]
