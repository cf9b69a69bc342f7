"""UsageRecorder against real Postgres: batches, shutdown flush, and a Postgres restart."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime
from pathlib import Path

from configs import UsageSettings
from gateway.entry.runtime import EmbeddedPostgres
from gateway.policy.usage import UsageRecord, UsageRecorder
from ingestion.db import migrate
from tests.support.policy import pool_for


def usage(key_id: str, **fields: object) -> UsageRecord:
    values: dict[str, object] = {
        "request_id": "req_" + secrets.token_hex(8),
        "key_id": key_id,
        "model": "m",
        "deployment": "d",
        "endpoint": "/v1/chat/completions",
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "cost_usd": 0.001,
        "latency_ms": 12.5,
        "status": 200,
        "streamed": False,
        "created_at": datetime.now(UTC),
        **fields,
    }
    return UsageRecord(**values)  # type: ignore[arg-type]


async def count_rows(url: str, key_id: str) -> int:
    async with pool_for(url) as pool, pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT count(*) FROM usage_events WHERE key_id = %s", (key_id,)
        )
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def wait_drained(recorder: UsageRecorder, *, timeout_s: float = 10.0) -> None:
    for _ in range(int(timeout_s / 0.05)):
        if recorder.pending == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{recorder.pending} usage records still pending")


async def test_a_full_batch_is_written_at_once_and_close_writes_the_rest(
    database_url: str,
) -> None:
    key_id = "key_" + secrets.token_hex(6)
    async with pool_for(database_url) as pool:
        recorder = UsageRecorder(pool, UsageSettings(batch_size=100, flush_interval_s=30))
        recorder.start()
        for _ in range(50):
            recorder.record(usage(key_id))
        await asyncio.sleep(0.3)
        assert recorder.pending == 50  # less than a batch waits for the interval
        assert await count_rows(database_url, key_id) == 0
        for _ in range(60):
            recorder.record(usage(key_id))
        await wait_drained(recorder)
        assert await count_rows(database_url, key_id) == 110
        for _ in range(7):
            recorder.record(usage(key_id))
        await recorder.close()
        assert recorder.pending == 0
    assert await count_rows(database_url, key_id) == 117


async def test_a_retried_record_is_written_once_and_request_ids_may_repeat(
    database_url: str,
) -> None:
    key_id = "key_" + secrets.token_hex(6)
    record = usage(key_id)
    async with pool_for(database_url) as pool:
        recorder = UsageRecorder(pool, UsageSettings())
        recorder.record(record)
        recorder.record(record)  # the same record twice: a retried batch
        recorder.record(usage(key_id, request_id=record.request_id))  # a client's reused id
        await recorder.flush()
    assert await count_rows(database_url, key_id) == 2


async def test_nothing_is_lost_when_postgres_restarts(tmp_path: Path) -> None:
    folder = tmp_path / "pg"
    postgres = EmbeddedPostgres(folder)
    url = postgres.start(database="ragway")
    await migrate(url)
    key_id = "key_" + secrets.token_hex(6)
    try:
        async with pool_for(url) as pool:
            recorder = UsageRecorder(
                pool, UsageSettings(batch_size=10, flush_interval_s=0.05, retry_max_s=0.5)
            )
            recorder.start()
            for _ in range(5):
                recorder.record(usage(key_id))
            postgres.stop()
            for _ in range(40):  # recorded while Postgres is down
                recorder.record(usage(key_id))
            await asyncio.sleep(1.0)
            assert recorder.pending > 0

            postgres = EmbeddedPostgres(folder)
            assert postgres.start(database="ragway") == url
            await wait_drained(recorder, timeout_s=15)
            await recorder.close()
        assert await count_rows(url, key_id) == 45
    finally:
        postgres.stop()


async def test_a_full_buffer_drops_the_oldest_and_counts_it(database_url: str) -> None:
    key_id = "key_" + secrets.token_hex(6)
    async with pool_for(database_url) as pool:
        recorder = UsageRecorder(pool, UsageSettings(max_buffer=3))
        records = [usage(key_id, prompt_tokens=i) for i in range(5)]
        for record in records:
            recorder.record(record)
        assert recorder.pending == 3
        await recorder.flush()
    async with pool_for(database_url) as pool, pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT prompt_tokens FROM usage_events WHERE key_id = %s ORDER BY 1", (key_id,)
        )
        assert [r[0] for r in await cursor.fetchall()] == [2, 3, 4]


async def test_a_record_postgres_refuses_does_not_cost_its_batch(database_url: str) -> None:
    key_id = "key_" + secrets.token_hex(6)
    async with pool_for(database_url) as pool:
        recorder = UsageRecorder(pool, UsageSettings())
        for tokens in (1, 2**40, 3):  # 2**40 does not fit the integer column
            recorder.record(usage(key_id, prompt_tokens=tokens))
        await recorder.flush()
        assert recorder.pending == 0
    async with pool_for(database_url) as pool, pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT prompt_tokens FROM usage_events WHERE key_id = %s ORDER BY 1", (key_id,)
        )
        assert [r[0] for r in await cursor.fetchall()] == [1, 3]
