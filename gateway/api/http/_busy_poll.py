"""Busy polling: after a request arrives, the event loop polls for a while instead of sleeping.

Waking a sleeping process (on a VM, a halted vCPU) adds latency to every reply a request waits
for (docs/performance.md). While a window is open one callback chain keeps the loop busy, so
each turn asks for ready sockets with a zero ``epoll_wait`` timeout: ``net.core.busy_poll`` in
user space. The window belongs to the process: each arrival moves its end to ``now + window``,
so it spends at most ``window`` of CPU per request. ``gateway.busy_poll_us: 0`` turns it off.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

__all__ = ["BusyPoll"]


def _ignore(seconds: float) -> None:
    pass


class BusyPoll:
    """Keeps the running event loop polling until ``window_s`` after the latest arrival."""

    def __init__(
        self,
        window_s: float,
        *,
        on_polled: Callable[[float], None] = _ignore,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._window = max(0.0, window_s)
        self._on_polled = on_polled  # seconds one polling stretch lasted, when it ends
        self._clock = clock
        self._until = 0.0
        self._began = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def polling(self) -> bool:
        return self._loop is not None

    def request_arrived(self) -> None:
        """Open the window (or move its end); call from the event loop."""
        if not self._window:
            return
        now = self._clock()
        self._until = now + self._window
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # not polling (or a chain left behind on a closed loop)
            self._loop = loop
            self._began = now
            loop.call_soon(self._poll, loop)

    def _poll(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is not loop:  # superseded by a chain on another loop
            return
        now = self._clock()
        if now < self._until:
            loop.call_soon(self._poll, loop)
            return
        self._loop = None
        self._on_polled(now - self._began)
