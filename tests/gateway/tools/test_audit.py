"""The audit trail in a real Postgres: batched writes, a failing database, paging."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from configs import AuditSettings, DatabaseSettings
from gateway.policy.audit import AuditEvent, AuditQuery, AuditStore, AuditWriter, fingerprint
from ingestion.db import migrate, open_pool
from tests.support.services import PostgresForTests


def event(n: int, *, key: str = "k1", decision: str = "allowed") -> AuditEvent:
    return AuditEvent(
        kind="tool",
        key_id=key,
        subject=f"tool_{n % 3}",
        decision=decision,
        reason="ok",
        stage="response",
        request_id=f"req-{n}",
        arguments_sha256=fingerprint(f'{{"n": {n}}}'),
        created_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=n),
    )


async def until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    for _ in range(int(timeout_s / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise TimeoutError("condition not met")


@pytest.fixture
async def database(postgres: PostgresForTests) -> str:
    return postgres.create_database()


async def test_events_are_written_in_batches_and_listed_newest_first(database: str) -> None:
    await migrate(database)
    pool = await open_pool(database, DatabaseSettings(), application_name="audit-test")
    try:
        writer = AuditWriter(pool, AuditSettings(batch_size=3, flush_interval_s=60))
        writer.start()
        for n in range(7):
            writer.record(
                event(n, key="k2" if n == 6 else "k1", decision="blocked" if n % 2 else "allowed")
            )
        await until(lambda: writer.pending <= 1)  # two full batches went at once
        await writer.close()
        assert writer.pending == 0
        store = AuditStore(pool)
        first = await store.list(AuditQuery(kind="tool", limit=4))
        assert [e["request_id"] for e in first.events] == ["req-6", "req-5", "req-4", "req-3"]
        second = await store.list(AuditQuery(kind="tool", limit=4, before=first.next_before))
        assert [e["request_id"] for e in second.events] == ["req-2", "req-1", "req-0"]
        assert second.next_before is None
        blocked = await store.list(AuditQuery(decision="blocked", key_id="k1"))
        assert [e["request_id"] for e in blocked.events] == ["req-5", "req-3", "req-1"]
        assert blocked.events[0]["arguments_sha256"] == fingerprint('{"n": 5}')
    finally:
        await pool.close()


async def test_nothing_is_lost_while_the_database_fails(database: str) -> None:
    pool = await open_pool(database, DatabaseSettings(), application_name="audit-test")
    try:
        writer = AuditWriter(
            pool, AuditSettings(batch_size=2, flush_interval_s=0.05, retry_max_s=0.2)
        )
        writer.start()
        for n in range(5):
            writer.record(event(n))
        await asyncio.sleep(0.5)  # no audit table yet: every write fails and is retried
        assert writer.pending == 5
        await migrate(database)
        await until(lambda: writer.pending == 0)
        await writer.close()
        async with pool.connection() as conn:
            cursor = await conn.execute("SELECT count(*), count(DISTINCT id) FROM audit_events")
            assert await cursor.fetchone() == (5, 5)
    finally:
        await pool.close()


async def test_an_event_postgres_refuses_is_dropped_alone(database: str) -> None:
    await migrate(database)
    pool = await open_pool(database, DatabaseSettings(), application_name="audit-test")
    try:
        writer = AuditWriter(pool, AuditSettings(batch_size=10, flush_interval_s=60))
        refused = AuditEvent(  # breaks audit_events' CHECK (kind IN ('tool', 'pii'))
            kind="bogus",  # type: ignore[arg-type]
            key_id="k1",
            subject="x",
            decision="allowed",
            reason="ok",
            stage="request",
            request_id="req-bad",
        )
        for item in (event(1), refused, event(2)):
            writer.record(item)
        await writer.flush()
        assert writer.pending == 0
        async with pool.connection() as conn:
            cursor = await conn.execute("SELECT request_id FROM audit_events ORDER BY 1")
            assert await cursor.fetchall() == [("req-1",), ("req-2",)]
    finally:
        await pool.close()
