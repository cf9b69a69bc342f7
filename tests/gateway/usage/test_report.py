"""UsageReport: totals by key, model and day (UTC) from real rows."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime

from configs import UsageSettings
from gateway.policy.usage import UsageRecorder, UsageReport
from tests.gateway.usage.test_recorder import usage
from tests.support.policy import pool_for


async def test_aggregates_by_key_model_and_day(database_url: str) -> None:
    first, second = "key_" + secrets.token_hex(6), "key_" + secrets.token_hex(6)
    day1 = datetime(2031, 3, 1, 23, 59, tzinfo=UTC)
    day2 = datetime(2031, 3, 2, 0, 1, tzinfo=UTC)
    rows = [
        usage(first, model="a", created_at=day1, prompt_tokens=10, completion_tokens=1),
        usage(first, model="a", created_at=day1, prompt_tokens=20, completion_tokens=2, status=502),
        usage(first, model="b", created_at=day2, cost_usd=0.5),
        usage(second, model="a", created_at=day2, latency_ms=100.0),
    ]
    async with pool_for(database_url) as pool:
        recorder = UsageRecorder(pool, UsageSettings())
        for row in rows:
            recorder.record(row)
        await recorder.flush()
        report = UsageReport(pool)
        full = await report.aggregate(start=date(2031, 3, 1), end=date(2031, 3, 2), key_id=first)
        by_model = await report.aggregate(
            start=date(2031, 3, 1), end=date(2031, 3, 2), group_by=("model",), model="a"
        )
        only_day1 = await report.aggregate(
            start=date(2031, 3, 1), end=date(2031, 3, 1), group_by=("key",)
        )
    assert [(r.key_id, r.model, r.day, r.requests, r.errors) for r in full] == [
        (first, "a", date(2031, 3, 1), 2, 1),
        (first, "b", date(2031, 3, 2), 1, 0),
    ]
    assert full[0].prompt_tokens == 30
    assert full[0].completion_tokens == 3
    assert full[0].total_tokens == 33
    assert full[1].cost_usd == 0.5
    assert [(r.model, r.requests, r.key_id, r.day) for r in by_model] == [("a", 3, None, None)]
    assert by_model[0].avg_latency_ms == (12.5 + 12.5 + 100.0) / 3
    assert [(r.key_id, r.requests) for r in only_day1] == [(first, 2)]
