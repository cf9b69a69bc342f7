"""Group commit for stored responses: the saves of concurrent requests share one statement.

Every ``store: true`` response is written before it is answered (a ``previous_response_id``
sent right after, to any process, must find it). Alone, a save is one statement as soon as
it is asked for; under load, the saves that arrive while one statement runs wait for the
next, which takes them all (up to ``MAX_BATCH``): one round trip and one commit for many
responses instead of one each. Each caller still returns only once its own row committed,
and a failed statement fails every save in it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_BATCH", "GroupWriter"]

MAX_BATCH = 64

Row = dict[str, Any]


@dataclass(slots=True)
class _Pending:
    rows: list[Row] = field(default_factory=list)
    done: asyncio.Future[None] | None = None


class GroupWriter:
    """Calls ``write(rows)`` for the rows queued while the previous write ran."""

    def __init__(self, write: Callable[[list[Row]], Awaitable[None]]) -> None:
        self._write = write
        self._queue: list[tuple[Row, asyncio.Future[None]]] = []
        self._running: asyncio.Task[None] | None = None

    async def put(self, row: Row) -> None:
        """Return once ``row`` is written (raise what its statement raised)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.add_done_callback(_seen)
        self._queue.append((row, done))
        if self._running is None or self._running.done():
            self._running = asyncio.create_task(self._drain())
        await asyncio.shield(done)  # a caller that goes away leaves the write to finish

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                await self._write([row for row, _ in batch])
            except BaseException as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)


def _seen(done: asyncio.Future[None]) -> None:
    """Mark the outcome read: a caller that went away must not leave an unread failure."""
    if not done.cancelled():
        done.exception()
