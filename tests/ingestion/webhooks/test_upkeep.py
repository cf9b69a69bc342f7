"""The delivery log's upkeep against a real Postgres: lost jobs staged again or failed, old
rows purged in batches, rows locked by someone else skipped, open deliveries never purged.

Rows are aged in SQL. The thresholds here (seconds) are far below those of the workers that
other tests start on this database (``lost_job_after_s`` 60 and more), so no other process
sweeps these rows first.
"""

from __future__ import annotations

import secrets
import threading
from typing import Any

import psycopg
from prometheus_client import CollectorRegistry
from psycopg_pool import ConnectionPool

from configs import WebhookSettings
from ingestion.webhooks import BATCH_ROWS, DeliveryUpkeep, WebhookMetrics
from tests.ingestion.webhooks.conftest import age, new_delivery, staged, status

SETTINGS = WebhookSettings(max_age_s=20, lost_job_after_s=5, retention_days=30)
DAYS_31 = 31 * 86_400.0
NOWHERE = "http://127.0.0.1:9/hook"


def upkeep(
    pool: ConnectionPool[Any], namespace: str, registry: CollectorRegistry | None = None
) -> DeliveryUpkeep:
    metrics = WebhookMetrics(registry or CollectorRegistry())
    return DeliveryUpkeep(pool, settings=SETTINGS, namespace=namespace, metrics=metrics)


def row(database_url: str, delivery_id: str) -> dict[str, Any] | None:
    with psycopg.connect(database_url) as conn:
        found = conn.execute(
            "SELECT status, last_error, next_attempt_at, event_id FROM webhook_deliveries "
            "WHERE id = %s",
            (delivery_id,),
        ).fetchone()
    if found is None:
        return None
    return dict(zip(("status", "last_error", "next_attempt_at", "event_id"), found, strict=True))


def event_exists(database_url: str, event_id: str) -> bool:
    with psycopg.connect(database_url) as conn:
        found = conn.execute("SELECT 1 FROM webhook_events WHERE id = %s", (event_id,)).fetchone()
    return found is not None


def end(database_url: str, delivery_id: str, state: str, *, days_ago: float) -> str:
    """Every delivery of the delivery's event ends as ``state`` that long ago (other
    endpoints of the shared database get deliveries of the event too); returns the event."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        found = conn.execute(
            "UPDATE webhook_deliveries SET status = %s, next_attempt_at = NULL, "
            "updated_at = now() - make_interval(days => %s) "
            "WHERE event_id = (SELECT event_id FROM webhook_deliveries WHERE id = %s) "
            "RETURNING event_id",
            (state, days_ago, delivery_id),
        ).fetchone()
        assert found is not None
        conn.execute(
            "UPDATE webhook_events SET created_at = now() - make_interval(days => %s) "
            "WHERE id = %s",
            (days_ago, found[0]),
        )
    return str(found[0])


def test_a_delivery_whose_job_was_lost_is_staged_again(
    pool: ConnectionPool[Any], database_url: str, namespace: str
) -> None:
    delivery = new_delivery(database_url, namespace, NOWHERE)
    on_time = new_delivery(database_url, namespace, NOWHERE)
    age(database_url, delivery, next_attempt_at=SETTINGS.lost_job_after_s + 2)
    registry = CollectorRegistry()
    done = upkeep(pool, namespace, registry).run_once()
    assert done["restaged"] >= 1
    assert staged(database_url, namespace, delivery) == [0, 0]  # its first job, then again
    assert staged(database_url, namespace, on_time) == [0]
    assert status(database_url, delivery) == ("pending", 0, None, True)
    assert registry.get_sample_value("ragway_webhook_deliveries_restaged_total") == done["restaged"]
    upkeep(pool, namespace).run_once()
    assert staged(database_url, namespace, delivery) == [0, 0]  # due now: not lost again yet


def test_a_delivery_under_attempt_is_not_taken_for_lost(
    pool: ConnectionPool[Any], database_url: str, namespace: str
) -> None:
    delivery = new_delivery(database_url, namespace, NOWHERE)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE webhook_deliveries SET locked_until = now() + interval '1 minute', "
            "next_attempt_at = now() - interval '1 hour', "
            "created_at = now() - interval '1 hour' WHERE id = %s",
            (delivery,),
        )
    upkeep(pool, namespace).run_once()
    assert staged(database_url, namespace, delivery) == [0]
    assert status(database_url, delivery)[0] == "pending"


def test_a_lost_delivery_past_its_window_fails_visibly(
    pool: ConnectionPool[Any], database_url: str, namespace: str
) -> None:
    delivery = new_delivery(database_url, namespace, NOWHERE)
    window = SETTINGS.max_age_s + SETTINGS.lost_job_after_s
    age(database_url, delivery, created_at=window + 2, next_attempt_at=window + 2)
    registry = CollectorRegistry()
    done = upkeep(pool, namespace, registry).run_once()
    found = row(database_url, delivery)
    assert found is not None
    assert found["status"] == "failed"
    assert found["next_attempt_at"] is None
    assert "job was lost" in found["last_error"]
    assert staged(database_url, namespace, delivery) == [0]  # failed, not staged again
    assert done["failed"] >= 1
    failed = "ragway_webhook_deliveries_failed_total"
    assert registry.get_sample_value(failed, {"reason": "job_lost"}) == done["failed"]


def test_ended_deliveries_and_their_events_are_purged_after_the_retention(
    pool: ConnectionPool[Any], database_url: str, namespace: str
) -> None:
    delivered = new_delivery(database_url, namespace, NOWHERE)
    failed = new_delivery(database_url, namespace, NOWHERE)
    recent = new_delivery(database_url, namespace, NOWHERE)
    still_retried = new_delivery(database_url, namespace, NOWHERE)
    delivered_event = end(database_url, delivered, "delivered", days_ago=31)
    failed_event = end(database_url, failed, "failed", days_ago=31)
    recent_event = end(database_url, recent, "delivered", days_ago=29)
    open_event = end(database_url, still_retried, "delivered", days_ago=31)
    with psycopg.connect(database_url, autocommit=True) as conn:  # one of them still open
        conn.execute(
            "UPDATE webhook_deliveries SET status = 'retrying', "
            "next_attempt_at = now() + interval '1 hour' WHERE id = %s",
            (still_retried,),
        )
    registry = CollectorRegistry()
    done = upkeep(pool, namespace, registry).run_once()
    assert row(database_url, delivered) is None
    assert row(database_url, failed) is None
    assert not event_exists(database_url, delivered_event)
    assert not event_exists(database_url, failed_event)
    assert row(database_url, recent) is not None
    assert event_exists(database_url, recent_event)
    retried = row(database_url, still_retried)
    assert retried is not None
    assert retried["status"] == "retrying"
    assert event_exists(database_url, open_event)  # its event stays while it is open
    assert done["deliveries"] >= 2
    assert done["events"] >= 2
    purged = registry.get_sample_value("ragway_webhook_log_purged_total", {"table": "deliveries"})
    assert purged == done["deliveries"]


def test_a_large_backlog_is_purged_in_batches_in_one_pass(
    pool: ConnectionPool[Any], database_url: str, namespace: str
) -> None:
    delivery = new_delivery(database_url, namespace, NOWHERE)
    event_id = end(database_url, delivery, "delivered", days_ago=31)
    count = BATCH_ROWS * 2 + 7
    with psycopg.connect(database_url, autocommit=True) as conn:
        endpoint = conn.execute(
            "SELECT endpoint_id FROM webhook_deliveries WHERE id = %s", (delivery,)
        ).fetchone()
        assert endpoint is not None
        conn.execute(
            "INSERT INTO webhook_deliveries (id, endpoint_id, event_id, status, updated_at) "
            "SELECT %s || n, %s, %s, 'failed', now() - interval '40 days' "
            "FROM generate_series(1, %s) AS n",
            (f"msg_{secrets.token_hex(6)}_", endpoint[0], event_id, count),
        )
    done = upkeep(pool, namespace).run_once()
    assert done["deliveries"] >= count + 1
    assert not event_exists(database_url, event_id)


def test_rows_locked_by_another_transaction_are_skipped_not_waited_for(
    pool: ConnectionPool[Any], database_url: str, namespace: str
) -> None:
    locked = new_delivery(database_url, namespace, NOWHERE)
    end(database_url, locked, "delivered", days_ago=31)
    with psycopg.connect(database_url) as holder:
        holder.execute("SELECT 1 FROM webhook_deliveries WHERE id = %s FOR UPDATE", (locked,))
        passes: list[dict[str, int]] = []
        thread = threading.Thread(target=lambda: passes.append(upkeep(pool, namespace).run_once()))
        thread.start()
        thread.join(timeout=20)
        assert passes, "the upkeep waited for a locked row"
        assert row(database_url, locked) is not None
        holder.rollback()
    upkeep(pool, namespace).run_once()
    assert row(database_url, locked) is None
