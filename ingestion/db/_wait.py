"""Start-up helper: wait for Postgres to answer, then migrate."""

from __future__ import annotations

import asyncio
import logging
import time

from ingestion.db._migrations import Migration, migrate
from ingestion.errors import DatabaseUnavailableError

__all__ = ["migrate_when_ready"]

_log = logging.getLogger(__name__)


async def migrate_when_ready(
    url: str, *, wait_s: float, connect_timeout_s: float = 5.0
) -> list[Migration]:
    """Apply migrations, retrying connection failures with backoff for up to ``wait_s``.

    Errors in the migrations themselves are not retried.
    """
    deadline = time.monotonic() + wait_s
    delay = 0.2
    while True:
        try:
            return await migrate(url, connect_timeout_s=connect_timeout_s)
        except DatabaseUnavailableError:
            if time.monotonic() + delay > deadline:
                raise
            _log.warning("postgres not reachable yet, retrying in %.1fs", delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
