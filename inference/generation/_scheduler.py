"""One thread advances every active generation in turn, one token each: fair and non-blocking.

Requests are admitted first come, first served, up to ``max_active`` at once; the rest wait
in order (at most ``max_queued``, beyond which ``submit`` refuses). Active generations take
turns a token at a time, so a short request is not stuck behind a long one, and the event
loop of the HTTP server never runs model code.
"""

from __future__ import annotations

import collections
import logging
import threading
from typing import Protocol

from inference.errors import ServerBusyError

__all__ = ["Scheduler", "Steppable"]

_log = logging.getLogger(__name__)


class Steppable(Protocol):
    """A unit of work done in small steps (a ``Generation``)."""

    def step(self) -> bool:
        """Do one step; True when finished. Must not raise: failures end the work."""

    def cancel(self) -> None:
        """Finish at the next step."""


class Scheduler:
    """Round-robin over active work on one background thread."""

    def __init__(self, *, max_active: int, max_queued: int, name: str = "generation") -> None:
        self._max_active = max_active
        self._max_queued = max_queued
        self._waiting: collections.deque[Steppable] = collections.deque()
        self._active: list[Steppable] = []
        self._wake = threading.Condition()
        self._closing = False
        self.steps = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def active(self) -> int:
        return len(self._active)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def submit(self, work: Steppable) -> None:
        """Queue ``work``; ServerBusyError when the waiting line is full."""
        with self._wake:
            if self._closing:
                raise ServerBusyError("the server is shutting down")
            if len(self._active) >= self._max_active and len(self._waiting) >= self._max_queued:
                raise ServerBusyError(
                    f"{len(self._waiting)} requests are already waiting; try again shortly"
                )
            self._waiting.append(work)
            self._wake.notify()

    def close(self, *, timeout_s: float = 10.0) -> None:
        """Cancel everything still running or waiting, and stop the thread."""
        with self._wake:
            self._closing = True
            for work in [*self._active, *self._waiting]:
                work.cancel()
            self._wake.notify()
        self._thread.join(timeout=timeout_s)

    def _run(self) -> None:
        while True:
            with self._wake:
                while len(self._active) < self._max_active and self._waiting:
                    self._active.append(self._waiting.popleft())
                if not self._active:
                    if self._closing:
                        return
                    self._wake.wait()
                    continue
                turn = list(self._active)
            finished = [work for work in turn if work.step()]
            self.steps += len(turn)
            if finished:
                with self._wake:
                    self._active = [work for work in self._active if work not in finished]
