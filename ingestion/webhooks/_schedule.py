"""When a failed delivery is tried again: exponential backoff with jitter, up to a max age."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from configs import WebhookSettings

__all__ = ["RetrySchedule"]

_END_S = 0.001  # closer than this to the end of the window is the end


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """After failed attempt *n* wait ``first_s * 2**(n-1)``, at most ``max_s``, each wait
    varied by ``jitter`` (a fraction) so receivers coming back are not hit all at once.

    No attempt is scheduled past ``max_age_s`` after the event; the wait that would cross it
    is shortened, so the last attempt falls at the end of the window (24 h by default).
    """

    first_s: float
    max_s: float
    jitter: float
    max_age_s: float
    rng: random.Random = field(default_factory=random.Random, compare=False)

    @classmethod
    def from_settings(cls, settings: WebhookSettings) -> RetrySchedule:
        return cls(
            first_s=settings.first_retry_s,
            max_s=settings.max_retry_s,
            jitter=settings.retry_jitter,
            max_age_s=settings.max_age_s,
        )

    def next_wait(self, attempts: int, age_s: float) -> float | None:
        """Seconds until the next attempt after ``attempts`` failed ones, the delivery being
        ``age_s`` old; None once its window is over (it gives up)."""
        if age_s >= self.max_age_s - _END_S:
            return None
        base = min(self.max_s, self.first_s * 2.0 ** min(max(attempts - 1, 0), 64))
        wait = base * (1.0 + self.jitter * self.rng.uniform(-1.0, 1.0))
        return min(wait, self.max_age_s - age_s)

    def plan(self) -> list[float]:
        """The attempt times (seconds after the event) of a receiver that never answers
        2xx, without jitter: the schedule ``next_wait`` follows."""
        steady = RetrySchedule(self.first_s, self.max_s, 0.0, self.max_age_s)
        times, age = [0.0], 0.0
        while (wait := steady.next_wait(len(times), age)) is not None:
            age += wait
            times.append(age)
        return times
