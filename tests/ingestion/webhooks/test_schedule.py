"""The retry schedule: doubling waits with jitter, and by default a window of 24 h."""

from __future__ import annotations

import itertools
import random

from configs import WebhookSettings
from ingestion.webhooks import RetrySchedule


def test_the_default_schedule_retries_for_24_hours() -> None:
    settings = WebhookSettings()
    plan = RetrySchedule.from_settings(settings).plan()
    assert plan[0] == 0.0
    assert plan[1:6] == [5.0, 15.0, 35.0, 75.0, 155.0]  # waits of 5, 10, 20, 40, 80 s
    waits = [b - a for a, b in itertools.pairwise(plan)]
    assert max(waits) == settings.max_retry_s  # hourly once the waits reach an hour
    assert plan[-1] == 86_400.0  # the last attempt at the end of the day
    assert 30 <= len(plan) <= 40


def test_no_wait_past_the_window_and_none_after_it() -> None:
    schedule = RetrySchedule(first_s=1, max_s=100, jitter=0, max_age_s=10)
    assert schedule.next_wait(1, 0) == 1
    assert schedule.next_wait(3, 2) == 4
    assert schedule.next_wait(5, 9) == 1  # 16 s would cross the end
    assert schedule.next_wait(6, 10) is None


def test_jitter_varies_each_wait_within_its_bounds() -> None:
    schedule = RetrySchedule(first_s=10, max_s=100, jitter=0.2, max_age_s=1e9, rng=random.Random(7))
    waits = {schedule.next_wait(2, 0) for _ in range(50)}
    assert len(waits) > 40
    assert all(w is not None and 16 <= w <= 24 for w in waits)
