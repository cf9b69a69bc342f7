"""GroupWriter: the saves that arrive while one statement runs share the next one."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.api.openai.responses._writer import MAX_BATCH, GroupWriter


class Recorder:
    def __init__(self, *, fail: BaseException | None = None) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.fail = fail

    async def write(self, rows: list[dict[str, Any]]) -> None:
        self.batches.append([row["n"] for row in rows])
        await self.release.wait()
        if self.fail is not None:
            raise self.fail


async def test_a_lone_save_is_written_at_once_and_the_rest_wait_for_one_statement() -> None:
    recorder = Recorder()
    writer = GroupWriter(recorder.write)
    first = asyncio.create_task(writer.put({"n": 0}))
    await asyncio.sleep(0.01)
    assert recorder.batches == [[0]]  # not held back to wait for company
    rest = [asyncio.create_task(writer.put({"n": n})) for n in range(1, 11)]
    await asyncio.sleep(0.01)
    assert not first.done()  # returns only once written
    recorder.release.set()
    await asyncio.gather(first, *rest)
    assert recorder.batches == [[0], list(range(1, 11))]


async def test_batches_are_bounded() -> None:
    recorder = Recorder()
    recorder.release.set()
    writer = GroupWriter(recorder.write)
    await asyncio.gather(*(writer.put({"n": n}) for n in range(MAX_BATCH * 2 + 1)))
    assert [len(b) for b in recorder.batches] == [MAX_BATCH, MAX_BATCH, 1]


async def test_a_failed_statement_fails_every_save_in_it_and_the_next_ones_go_on() -> None:
    recorder = Recorder(fail=RuntimeError("database down"))
    writer = GroupWriter(recorder.write)
    saves = [asyncio.create_task(writer.put({"n": n})) for n in range(3)]
    await asyncio.sleep(0.01)
    recorder.release.set()
    results = await asyncio.gather(*saves, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    recorder.fail = None
    await writer.put({"n": 9})  # the writer is not stuck
    assert recorder.batches[-1] == [9]


async def test_a_caller_that_goes_away_leaves_its_write_to_finish() -> None:
    recorder = Recorder()
    writer = GroupWriter(recorder.write)
    save = asyncio.create_task(writer.put({"n": 1}))
    await asyncio.sleep(0.01)
    save.cancel()
    with pytest.raises(asyncio.CancelledError):
        await save
    recorder.release.set()
    await writer.put({"n": 2})
    assert recorder.batches == [[1], [2]]
