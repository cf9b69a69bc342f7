"""Busy polling: after a request arrives, the event loop polls for a while instead of sleeping.

A process that sleeps in ``epoll_wait`` while it waits for Redis or an upstream lets its CPU
go idle, and on a virtual machine an idle vCPU halts: waking it when the reply lands costs an
interrupt through the hypervisor, tens of microseconds, two or three times per request. At one
connection on the development VM that was ~100 µs of a ~470 µs request
(docs/performance.md). While a window is open, the loop always has a callback ready, so each
turn asks the kernel for ready sockets without sleeping (``epoll_wait`` with a zero timeout), and a
reply is handled as soon as it lands -- Linux's ``net.core.busy_poll`` idea, in user space.

The window belongs to the process, not to a request: each arrival moves its end to
``now + window`` and one chain of callbacks runs until it passes. The cost is bounded: at
most ``window`` of CPU per request when requests are sparse, and one cheap callback per loop
turn when the loop is busy anyway. ``gateway.busy_poll_us: 0`` turns it off.
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
