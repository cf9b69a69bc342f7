"""The generic RowWriter against a real Postgres: a refused row costs only itself."""

from __future__ import annotations

import asyncio
import secrets

from prometheus_client import CollectorRegistry, Counter, Gauge

from configs import UsageSettings
from gateway.ledger import RowWriter, WriterMetrics
from tests.support.policy import pool_for


def metrics() -> WriterMetrics:
    registry = CollectorRegistry()  # the test's own series, not the process-wide ones
    return WriterMetrics(
        written=Counter("t_written", "", registry=registry),
        dropped=Counter("t_dropped", "", registry=registry),
        refused=Counter("t_refused", "", registry=registry),
        write_errors=Counter("t_write_errors", "", registry=registry),
        buffered=Gauge("t_buffered", "", registry=registry),
    )


async def test_a_refused_row_is_dropped_alone_and_counted(database_url: str) -> None:
    table = "ledger_" + secrets.token_hex(4)
    async with pool_for(database_url) as pool:
        async with pool.connection() as conn:
            await conn.execute(
                f"CREATE TABLE {table} (id text PRIMARY KEY, n smallint NOT NULL CHECK (n >= 0))"
            )
        insert = f"INSERT INTO {table} (id, n) VALUES (%s, %s) ON CONFLICT (id) DO NOTHING"
        seen = metrics()
        writer: RowWriter[tuple[str, int]] = RowWriter(
            pool,
            UsageSettings(batch_size=100, flush_interval_s=0.05),
            name="ledger-test",
            insert=insert,
            row=lambda item: item,
            metrics=seen,
        )
        writer.start()
        rows = [("a", 1), ("b", -1), ("c", 2), ("d", 70_000), ("e", 3)]  # CHECK; out of range
        for item in rows:
            writer.record(item)
        for _ in range(200):
            if writer.pending == 0:
                break
            await asyncio.sleep(0.02)
        assert writer.pending == 0
        writer.record(("f", 4))  # the writer goes on after a refusal
        await writer.close(timeout_s=5)
        async with pool.connection() as conn:
            cursor = await conn.execute(f"SELECT id, n FROM {table} ORDER BY id")
            assert await cursor.fetchall() == [("a", 1), ("c", 2), ("e", 3), ("f", 4)]
            await conn.execute(f"DROP TABLE {table}")
    assert seen.refused._value.get() == 2
    assert seen.written._value.get() == 4
    assert seen.write_errors._value.get() == 0
