"""BusyPoll: after an arrival the event loop keeps turning (polling) for the window, then sleeps."""

from __future__ import annotations

import asyncio
import time

from gateway.api import BusyPoll


class CountingClock:
    """perf_counter that counts its calls: one per polling turn of the loop."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> float:
        self.calls += 1
        return time.perf_counter()


# Windows of tenths of a second, each check 100 ms or more from an edge: a loaded machine
# (two test workers on two cores) oversleeping by tens of ms cannot carry one across it.


async def test_the_loop_polls_through_the_window_instead_of_sleeping() -> None:
    clock = CountingClock()
    polled: list[float] = []
    busy = BusyPoll(0.3, on_polled=polled.append, clock=clock)
    busy.request_arrived()
    assert busy.polling
    await asyncio.sleep(0.1)  # a sleeping loop would turn about twice in this time
    assert busy.polling
    assert clock.calls > 50
    await asyncio.sleep(0.4)
    assert not busy.polling  # the window passed: the chain ended and the loop may sleep
    calls = clock.calls
    await asyncio.sleep(0.02)
    assert clock.calls == calls
    assert len(polled) == 1
    assert 0.3 <= polled[0] < 1.0


async def test_arrivals_move_the_end_of_one_window() -> None:
    polled: list[float] = []
    busy = BusyPoll(0.5, on_polled=polled.append)
    busy.request_arrived()
    await asyncio.sleep(0.25)
    busy.request_arrived()  # still polling: no second chain, the end moves to +500 ms
    await asyncio.sleep(0.25)
    assert busy.polling  # 500 ms after the first arrival, 250 ms after the second
    await asyncio.sleep(0.6)
    assert not busy.polling
    assert len(polled) == 1  # one stretch, from the first arrival to the second's end
    assert polled[0] >= 0.7


async def test_a_zero_window_never_polls() -> None:
    clock = CountingClock()
    polled: list[float] = []
    busy = BusyPoll(0.0, on_polled=polled.append, clock=clock)
    busy.request_arrived()
    assert not busy.polling
    await asyncio.sleep(0.01)
    assert clock.calls == 0
    assert polled == []


def test_a_chain_cut_off_with_its_loop_does_not_keep_the_next_loop_from_polling() -> None:
    clock = CountingClock()
    polled: list[float] = []
    busy = BusyPoll(0.3, on_polled=polled.append, clock=clock)

    async def arrive_and_leave() -> None:
        busy.request_arrived()  # this loop ends long before the window does

    asyncio.run(arrive_and_leave())

    async def arrive_again() -> tuple[bool, bool]:
        busy.request_arrived()
        calls = clock.calls
        await asyncio.sleep(0.1)
        during = busy.polling and clock.calls > calls + 10
        await asyncio.sleep(0.5)
        return during, busy.polling

    assert asyncio.run(arrive_again()) == (True, False)
    assert len(polled) == 1  # the stretch on the second loop, ended by its window
