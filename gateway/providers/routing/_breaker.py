"""A per-deployment circuit breaker: open after N consecutive failures, probe after a cool-down."""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import IntEnum

__all__ = ["BreakerState", "CircuitBreaker"]


class BreakerState(IntEnum):
    """Values as exported in the ``ragway_circuit_breaker_state`` gauge."""

    CLOSED = 0
    OPEN = 1
    HALF_OPEN = 2


class CircuitBreaker:
    """Closed: calls flow. Open: none until ``cooldown_s`` passed. Half-open: one probe call,
    whose success closes the breaker and whose failure opens it again."""

    __slots__ = (
        "_clock",
        "_cooldown_s",
        "_failures",
        "_limit",
        "_on_change",
        "_opened_at",
        "_probing",
    )

    def __init__(
        self,
        *,
        failures: int,
        cooldown_s: float,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[BreakerState], None] | None = None,
    ) -> None:
        self._limit = failures
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._on_change = on_change
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._probing or self._clock() - self._opened_at >= self._cooldown_s:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allow(self) -> bool:
        """May a call go to this deployment now? In half-open, only the first caller may."""
        if self._opened_at is None:
            return True
        if self._probing or self._clock() - self._opened_at < self._cooldown_s:
            return False
        self._probing = True
        self._notify()
        return True

    def success(self) -> None:
        self._failures = 0
        if self._opened_at is not None:
            self._opened_at = None
            self._probing = False
            self._notify()

    def failure(self) -> None:
        self._failures += 1
        if self._probing or (self._opened_at is None and self._failures >= self._limit):
            self._opened_at = self._clock()
            self._probing = False
            self._notify()

    def release(self) -> None:
        """The call allowed by ``allow`` ended without a verdict (e.g. it was cancelled)."""
        self._probing = False

    def _notify(self) -> None:
        if self._on_change is not None:
            self._on_change(self.state)
