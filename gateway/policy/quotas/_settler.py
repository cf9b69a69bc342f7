"""Settlements leave the request path: queued, then applied in batches by one background task.

The task wakes at most once per ``batch_s`` (not once per request): at one connection that
was a task switch, a drain and a Redis call per request for a batch of one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from redis.exceptions import RedisError

from gateway.policy.quotas._metrics import SETTLE_FAILURES
from gateway.policy.quotas._types import Settlement

__all__ = ["Settler"]

_log = logging.getLogger(__name__)

Apply = Callable[[Sequence[Settlement]], Awaitable[None]]


class Settler:
    """Batches settlements per store; ``close`` applies whatever is still queued."""

    def __init__(self, stores: dict[str, Apply], *, batch_s: float = 0.005) -> None:
        self._stores = stores
        self._batch_s = batch_s
        self._pending: list[Settlement] = []
        self._wake = asyncio.Event()
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="quota-settler")

    def submit(self, settlement: Settlement) -> None:
        self._pending.append(settlement)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._batch_s, self._wake.set)

    async def drain(self) -> None:
        """Apply everything queued now (tests and shutdown)."""
        while self._pending:
            batch, self._pending = self._pending, []
            for store, apply in self._stores.items():
                items = [s for s in batch if s.reservation.store == store]
                if items:
                    await self._apply(apply, items)

    async def close(self) -> None:
        self._closing = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self.drain()

    async def _run(self) -> None:
        while not self._closing:
            await self._wake.wait()
            self._wake.clear()
            self._timer = None
            await self.drain()

    @staticmethod
    async def _apply(apply: Apply, items: Sequence[Settlement]) -> None:
        try:
            await apply(items)
        except (RedisError, OSError) as exc:
            # The counters live in the Redis that failed; a retry would land in new windows.
            SETTLE_FAILURES.inc(len(items))
            _log.warning(
                "quota settlements lost: Redis unreachable",
                extra={"count": len(items), "error": str(exc)},
            )
