"""The generic RowWriter against a real Postgres: a refused row costs only itself."""

from __future__ import annotations

import asyncio
import secrets

from prometheus_client import CollectorRegistry, Counter, Gauge
from psycopg_pool import AsyncConnectionPool

from configs import UsageSettings
from gateway.platform.ledger import RowWriter, WriterMetrics
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


def pair_writer(
    pool: AsyncConnectionPool, table: str, settings: UsageSettings, seen: WriterMetrics
) -> RowWriter[tuple[str, int]]:
    """A writer of (id, n) rows into ``table``."""
    return RowWriter(
        pool,
        settings,
        name="ledger-test",
        table=table,
        columns=[("id", "text"), ("n", "smallint")],
        conflict="id",
        row=lambda item: item,
        metrics=seen,
    )


async def test_a_refused_row_is_dropped_alone_and_counted(database_url: str) -> None:
    table = "ledger_" + secrets.token_hex(4)
    async with pool_for(database_url) as pool:
        async with pool.connection() as conn:
            await conn.execute(
                f"CREATE TABLE {table} (id text PRIMARY KEY, n smallint NOT NULL CHECK (n >= 0))"
            )
        seen = metrics()
        writer = pair_writer(
            pool, table, UsageSettings(batch_size=100, flush_interval_s=0.05), seen
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


async def test_steady_traffic_is_written_in_one_batch_per_interval(database_url: str) -> None:
    """Rows that arrive while a batch is being written wait for the next interval: the writer
    must not chase them with a statement for every row or two (each insert here takes 10 ms
    and a row comes every 5 ms: chasing makes ~80 statements in the second, batching ~10)."""
    table = "ledger_" + secrets.token_hex(4)
    async with pool_for(database_url) as pool:
        async with pool.connection() as conn:
            await conn.execute(f"CREATE TABLE {table} (id text PRIMARY KEY, n smallint NOT NULL)")
            await conn.execute(f"CREATE TABLE {table}_statements (n integer NOT NULL)")
            await conn.execute(f"INSERT INTO {table}_statements VALUES (0)")
            await conn.execute(
                f"CREATE FUNCTION {table}_count() RETURNS trigger LANGUAGE plpgsql AS "
                f"$$ BEGIN UPDATE {table}_statements SET n = n + 1; "
                "PERFORM pg_sleep(0.01); RETURN NULL; END $$"  # each insert takes a while
            )
            await conn.execute(
                f"CREATE TRIGGER {table}_count AFTER INSERT ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_count()"
            )
        settings = UsageSettings(batch_size=10_000, flush_interval_s=0.1)
        writer = pair_writer(pool, table, settings, metrics())
        writer.start()
        rows = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 1.0
        while loop.time() < deadline:  # a row every 5 ms for a second
            writer.record((f"r{rows}", 1))
            rows += 1
            await asyncio.sleep(0.005)
        await writer.close(timeout_s=5)
        async with pool.connection() as conn:
            written = await (await conn.execute(f"SELECT count(*) FROM {table}")).fetchone()
            statements = await (await conn.execute(f"SELECT n FROM {table}_statements")).fetchone()
            await conn.execute(f"DROP TABLE {table}, {table}_statements")
            await conn.execute(f"DROP FUNCTION {table}_count()")
    assert written == (rows,)
    assert statements is not None
    assert statements[0] <= 20, f"{statements[0]} statements for {rows} rows in ~10 intervals"
