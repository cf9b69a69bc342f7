"""Budget gauges: what the keys nearest their monthly budget have left, for Prometheus.

Per-key spend stays in the usage ledger; only keys with a monthly budget get a series, and at
most ``metrics.budget_keys`` of them (those with the smallest fraction left), so the label
count stays bounded. The sums are read at a scrape, at most every ``metrics.budget_refresh_s``,
in one query over ``usage_events_key_created_idx`` -- never on a request's path. The read
runs on the scraping thread with a connection of its own (the ``ragway gateway`` metrics port
has no event loop), opened on the first scrape.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from configs import MetricsSettings

__all__ = ["BudgetGauges"]

_log = logging.getLogger(__name__)

# Active keys with a budget, this calendar month's spend (UTC, as the quota step counts it),
# the nearest to their limit first.
_QUERY = """
SELECT k.id, k.monthly_budget_usd::float8, coalesce(s.spent, 0)::float8
FROM api_keys k
LEFT JOIN LATERAL (
    SELECT sum(u.cost_usd) AS spent FROM usage_events u
    WHERE u.key_id = k.id AND u.created_at >= %(start)s AND u.created_at < %(end)s
) s ON true
WHERE k.monthly_budget_usd IS NOT NULL AND k.revoked_at IS NULL
  AND (k.expires_at IS NULL OR k.expires_at > now())
ORDER BY (k.monthly_budget_usd - coalesce(s.spent, 0)) / nullif(k.monthly_budget_usd, 0)
    ASC NULLS FIRST, k.id
LIMIT %(limit)s
"""

_TIMEOUT = "SELECT set_config('statement_timeout', %s, true)"
_Row = tuple[str, float, float]  # key id, budget, spent (USD)


class BudgetGauges(Collector):
    """``ragway_key_budget_usd`` and ``ragway_key_budget_remaining_usd`` by ``key_id``.

    A read that fails keeps the last values (and is logged); the next is tried a refresh
    period later. ``close`` drops the connection.
    """

    def __init__(
        self,
        database_url: str,
        settings: MetricsSettings,
        *,
        connect_timeout_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = database_url
        self._limit = settings.budget_keys
        self._refresh_s = settings.budget_refresh_s
        self._timeout = max(1, int(connect_timeout_s))
        self._clock = clock
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None
        self._rows: list[_Row] = []
        self._read_at: float | None = None

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The families, without reading the ledger (registries ask when registering)."""
        yield from self._families([])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self._limit == 0:
            return
        yield from self._families(self._current())

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _families(self, rows: list[_Row]) -> Iterator[GaugeMetricFamily]:
        budget = GaugeMetricFamily(
            "ragway_key_budget_usd",
            "Monthly budget of an API key (keys with a budget nearest their limit only).",
            labels=["key_id"],
        )
        remaining = GaugeMetricFamily(
            "ragway_key_budget_remaining_usd",
            "What the key has left of its monthly budget this calendar month (UTC), from the "
            "usage ledger; negative when overspent.",
            labels=["key_id"],
        )
        for key_id, limit, spent in rows:
            budget.add_metric([key_id], limit)
            remaining.add_metric([key_id], limit - spent)
        yield budget
        yield remaining

    def _current(self) -> list[_Row]:
        with self._lock:
            now = self._clock()
            if self._read_at is None or now - self._read_at >= self._refresh_s:
                self._read_at = now
                try:
                    self._rows = self._read()
                except psycopg.Error as exc:
                    _log.warning(
                        "budget gauges not refreshed: the usage ledger did not answer",
                        extra={"error": type(exc).__name__},
                    )
            return self._rows

    def _read(self) -> list[_Row]:
        if self._conn is None or self._conn.closed:
            # Nothing that outlives a transaction (no startup options, nothing prepared):
            # the same connection works through a transaction-mode pooler (PgBouncer).
            self._conn = psycopg.connect(
                self._url,
                autocommit=True,
                connect_timeout=self._timeout,
                application_name="ragway-budget-gauges",
                prepare_threshold=None,
            )
        start = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        end = (start + timedelta(days=32)).replace(day=1)
        try:
            with self._conn.transaction():
                # A scrape waits no longer than this for the sums.
                self._conn.execute(_TIMEOUT, (str(self._timeout * 1000),))
                cursor = self._conn.execute(
                    _QUERY, {"start": start, "end": end, "limit": self._limit}
                )
            return [(str(r[0]), float(r[1]), float(r[2])) for r in cursor.fetchall()]
        except psycopg.OperationalError:
            self._conn.close()  # reconnects at the next refresh
            raise
