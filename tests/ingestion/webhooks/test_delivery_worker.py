"""The delivery worker against a real Postgres and receiver, without a broker: what one
message does, and what it leaves in the outbox for the next."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from configs import WebhookSettings
from ingestion.webhooks import DeliveryWorker, RetrySchedule, WebhookEvents, WebhookSender
from tests.support.webhook_receiver import WebhookReceiver

SETTINGS = WebhookSettings(
    allow_private_targets=True, timeout_s=2, first_retry_s=30, max_retry_s=60, max_age_s=600
)


@pytest.fixture
def namespace() -> str:
    return f"webhook-worker-{secrets.token_hex(4)}"


@pytest.fixture
def pool(database_url: str) -> Iterator[ConnectionPool[Any]]:
    with ConnectionPool(database_url, min_size=1, max_size=4, kwargs={"autocommit": True}) as p:
        yield p


def worker(pool: ConnectionPool[Any], namespace: str) -> DeliveryWorker:
    return DeliveryWorker(
        pool,
        sender=WebhookSender(SETTINGS),
        schedule=RetrySchedule.from_settings(SETTINGS),
        settings=SETTINGS,
        namespace=namespace,
    )


def new_delivery(database_url: str, namespace: str, url: str) -> str:
    """An endpoint for batch.failed at ``url`` and one event for it; returns its delivery
    (other endpoints of the shared database may get theirs, in this test's namespace)."""
    endpoint_id = f"whep_{secrets.token_hex(8)}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO webhook_endpoints (id, url, event_types, secret) VALUES (%s, %s, %s, %s)",
            (endpoint_id, url, ["batch.failed"], "whsec_" + "A" * 43 + "="),
        )
        with conn.transaction():
            events = WebhookEvents(namespace=namespace, queue="webhooks")
            found = events.record_sync(conn, "batch.failed", {"id": "batch_1"})
    (mine,) = [d for d in found if owner(database_url, d) == endpoint_id]
    return mine


def owner(database_url: str, delivery_id: str) -> str:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT endpoint_id FROM webhook_deliveries WHERE id = %s", (delivery_id,)
        ).fetchone()
    assert row is not None
    return str(row[0])


def staged(database_url: str, namespace: str, delivery_id: str) -> list[float]:
    """Delays (s) of the jobs staged for the delivery, oldest first."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT extract(epoch FROM available_at - created_at)::float8 FROM outbox "
            "WHERE namespace = %s AND args = %s::jsonb ORDER BY id",
            (namespace, f'["{delivery_id}"]'),
        ).fetchall()
    return [round(float(r[0])) for r in rows]


def status(database_url: str, delivery_id: str) -> tuple[Any, ...]:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT status, attempts, last_status_code, locked_until IS NULL "
            "FROM webhook_deliveries WHERE id = %s",
            (delivery_id,),
        ).fetchone()
    assert row is not None
    return tuple(row)


def test_recording_an_event_stages_one_job_per_delivery(database_url: str, namespace: str) -> None:
    delivery = new_delivery(database_url, namespace, "http://127.0.0.1:9/a")
    assert staged(database_url, namespace, delivery) == [0]
    assert status(database_url, delivery) == ("pending", 0, None, True)


def test_a_failed_attempt_is_recorded_with_its_retry_staged(
    pool: ConnectionPool[Any], database_url: str, namespace: str
) -> None:
    with WebhookReceiver(status=502) as receiver:
        delivery = new_delivery(database_url, namespace, receiver.url)
        assert worker(pool, namespace).deliver(delivery) == "retrying"
        assert worker(pool, namespace).deliver(delivery) == "skipped"  # not due yet
    assert status(database_url, delivery) == ("retrying", 1, 502, True)
    first, retry = staged(database_url, namespace, delivery)
    assert first == 0
    assert 24 <= retry <= 36  # first_retry_s 30, jitter 0.2
    assert len(receiver.received) == 1


def test_a_duplicate_message_during_an_attempt_sends_nothing_and_looks_again_later(
    pool: ConnectionPool[Any], database_url: str, namespace: str
) -> None:
    with WebhookReceiver(script=[("slow", 1.0)]) as receiver:
        delivery = new_delivery(database_url, namespace, receiver.url)
        results: list[str] = []
        first = threading.Thread(
            target=lambda: results.append(worker(pool, namespace).deliver(delivery))
        )
        first.start()
        receiver.wait_for(1)
        assert worker(pool, namespace).deliver(delivery) == "skipped"
        first.join()
    assert results == ["delivered"]
    assert len(receiver.received) == 1
    assert status(database_url, delivery) == ("delivered", 1, 200, True)
    assert staged(database_url, namespace, delivery) == [0, round(SETTINGS.timeout_s + 10)]


def test_a_disabled_endpoint_gives_its_delivery_up_without_sending(
    pool: ConnectionPool[Any], database_url: str, namespace: str
) -> None:
    with WebhookReceiver() as receiver:
        delivery = new_delivery(database_url, namespace, receiver.url)
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(
                "UPDATE webhook_endpoints SET enabled = false WHERE id = %s",
                (owner(database_url, delivery),),
            )
        assert worker(pool, namespace).deliver(delivery) == "skipped"
    assert receiver.received == []
    assert status(database_url, delivery) == ("gave_up", 0, None, True)


def test_no_retry_for_an_endpoint_deleted_during_the_attempt(
    pool: ConnectionPool[Any], database_url: str, namespace: str
) -> None:
    with WebhookReceiver(script=[("slow", 1.0, 500)]) as receiver:
        delivery = new_delivery(database_url, namespace, receiver.url)
        endpoint_id = owner(database_url, delivery)
        results: list[str] = []
        attempt = threading.Thread(
            target=lambda: results.append(worker(pool, namespace).deliver(delivery))
        )
        attempt.start()
        receiver.wait_for(1)
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("DELETE FROM webhook_endpoints WHERE id = %s", (endpoint_id,))
        attempt.join()
    assert results == ["retrying"]
    assert staged(database_url, namespace, delivery) == [0]
