"""Recording lines' answers (``BatchRepository``) on the session's Postgres: an answer is
recorded and counted once, whichever job delivers it again, a line recorded is never handed
out to run again, and the results read for the files say each line's state."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from gateway.api.batches._repository import BatchRepository, LineResult
from gateway.api.batches.protocol import CreateBatch, InputLine
from ingestion.webhooks import WebhookEvents


@pytest.fixture
async def repository(database_url: str) -> AsyncIterator[BatchRepository]:
    # A namespace no relay reads: the jobs it stages stay in the outbox.
    namespace = f"recording-{secrets.token_hex(4)}"
    async with AsyncConnectionPool(database_url, min_size=1, max_size=2, open=False) as pool:
        yield BatchRepository(
            pool,
            namespace=namespace,
            queue_name="batches",
            events=WebhookEvents(namespace=namespace, queue="webhooks"),
        )


async def started(repository: BatchRepository, lines: int) -> str:
    batch_id = f"batch_rec_{secrets.token_hex(6)}"
    body = CreateBatch(
        input_file_id="file-none", endpoint="/v1/embeddings", completion_window="24h"
    )
    await repository.create(batch_id, "key-none", body, window_s=3600)
    inputs = [
        InputLine(n, f"c{n}", json.dumps({"model": "embed", "input": f"t{n}"}))
        for n in range(lines)
    ]
    assert await repository.start(batch_id, inputs, lines_per_job=4)
    return batch_id


def answer(status: int, text: str) -> LineResult:
    return LineResult(status, f"req-{text}", json.dumps({"text": text}))


async def test_an_answer_delivered_twice_is_recorded_and_counted_once(
    repository: BatchRepository,
) -> None:
    batch_id = await started(repository, 6)
    first = await repository.pending(batch_id, 0, 4)
    assert [(p.line, p.custom_id, p.model) for p in first] == [
        (0, "c0", "embed"),
        (1, "c1", "embed"),
        (2, "c2", "embed"),
        (3, "c3", "embed"),
    ]
    await repository.finish_lines(batch_id, [(0, answer(200, "a")), (1, answer(400, "b"))])
    # The same job again (a message delivered twice): lines 0 and 1 come with other answers.
    await repository.finish_lines(
        batch_id, [(1, answer(200, "again")), (0, answer(500, "again")), (2, answer(200, "c"))]
    )

    assert [p.line for p in await repository.pending(batch_id, 0, 4)] == [3]
    assert [p.line for p in await repository.pending(batch_id, 4, 6)] == [4, 5]
    row = await repository.get(batch_id)
    assert row is not None
    assert (row.total, row.completed, row.failed) == (6, 2, 1)
    results = await repository.results(batch_id)
    assert [r[:3] for r in results] == [
        (0, "c0", "done"),
        (1, "c1", "failed"),
        (2, "c2", "done"),
        (3, "c3", "pending"),
        (4, "c4", "pending"),
        (5, "c5", "pending"),
    ]
    assert results[1][3:] == (400, json.dumps({"text": "b"}), "req-b")
    assert results[3][3:] == (None, None, None)


async def test_the_last_answer_recorded_queues_the_finalizing_once(
    repository: BatchRepository, database_url: str
) -> None:
    batch_id = await started(repository, 2)
    await repository.finish_lines(batch_id, [(0, answer(200, "a")), (1, answer(200, "b"))])
    await repository.finish_lines(batch_id, [(1, answer(200, "b"))])
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cursor = await conn.execute(
            "SELECT count(*) FROM outbox WHERE actor_name = 'batch_finalize' AND args ->> 0 = %s",
            (batch_id,),
        )
        assert await cursor.fetchone() == (1,)
    assert await repository.begin_finalizing(batch_id) is not None
    # Nothing is recorded once the batch is finalizing.
    await repository.finish_lines(batch_id, [(0, answer(500, "late"))])
    assert [r[2] for r in await repository.results(batch_id)] == ["done", "done"]


async def test_the_same_answers_recorded_at_once_by_two_jobs_count_once(
    repository: BatchRepository,
) -> None:
    # A message redelivered while its first delivery still runs: both record the same lines.
    batch_id = await started(repository, 40)
    group = [(n, answer(200 if n % 4 else 500, str(n))) for n in range(40)]
    await asyncio.gather(
        repository.finish_lines(batch_id, group[:30]),
        repository.finish_lines(batch_id, list(reversed(group[10:]))),
    )
    row = await repository.get(batch_id)
    assert row is not None
    assert (row.completed, row.failed) == (30, 10)
    assert await repository.pending(batch_id, 0, 40) == []
