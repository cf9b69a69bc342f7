"""Object storage off the event loop: its calls block (disk, or S3 over the network).

``off_loop`` runs one in a worker thread; ``cleanup`` does so even while the request is
being cancelled (a client gone mid-upload still gets its staged bytes thrown away), and
``shielded`` awaits any step so.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar, TypeVarTuple, Unpack

import anyio
import anyio.to_thread

__all__ = ["cleanup", "off_loop", "shielded"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


async def off_loop(function: Callable[[Unpack[Ts]], T], *args: *Ts) -> T:
    return await anyio.to_thread.run_sync(function, *args)


async def cleanup(function: Callable[[Unpack[Ts]], object], *args: *Ts) -> None:
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(function, *args)


async def shielded(step: Awaitable[object]) -> None:
    with anyio.CancelScope(shield=True):
        await step
