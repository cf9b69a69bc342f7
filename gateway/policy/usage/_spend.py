"""What a key spent, summed from the usage ledger (``usage_events``) in Postgres.

The quota step counts spend in Redis; when Redis loses a month's counter (a restart without
persistence, a flush), the counter is seeded again from here instead of starting at zero.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from gateway.platform.errors import ServiceUnavailableError

__all__ = ["SpendLedger"]

_SPENT = (
    "SELECT coalesce(sum(cost_usd), 0) FROM usage_events "
    "WHERE key_id = %s AND created_at >= %s AND created_at < %s"
)


class SpendLedger:
    """Sums of ``cost_usd`` per key and period (served by ``usage_events_key_created_idx``)."""

    def __init__(self, pool: AsyncConnectionPool, *, timeout_s: float = 2.0) -> None:
        self._pool = pool
        self._timeout_s = timeout_s

    async def spent_micro(self, key_id: str, start: datetime, end: datetime) -> int:
        """Micro-USD the key spent in ``start`` <= created_at < ``end``; 503 if Postgres fails.

        Rows still buffered in a gateway process (up to ``policy.usage.flush_interval_s``)
        are not counted yet.
        """
        try:
            async with self._pool.connection(timeout=self._timeout_s) as conn:
                cursor = await conn.execute(_SPENT, (key_id, start, end))
                row = await cursor.fetchone()
        except (psycopg.Error, PoolTimeout, OSError) as exc:
            raise ServiceUnavailableError(
                "the usage ledger (Postgres) is unavailable", code="ledger_unavailable"
            ) from exc
        total = Decimal(row[0]) if row is not None else Decimal(0)
        return round(total * 1_000_000)
