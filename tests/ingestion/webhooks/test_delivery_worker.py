"""The delivery worker against a real Postgres and receiver, without a broker: what one
message does, and what it leaves in the outbox for the next."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
from prometheus_client import CollectorRegistry
from psycopg_pool import ConnectionPool

from configs import WebhookSettings
from ingestion.webhooks import (
    DeliveryWorker,
    RetrySchedule,
    WebhookMetrics,
    WebhookSender,
)
from tests.ingestion.webhooks.conftest import age, new_delivery, owner, staged, status
from tests.support.webhook_receiver import WebhookReceiver

SETTINGS = WebhookSettings(
    allow_private_targets=True, timeout_s=2, first_retry_s=30, max_retry_s=60, max_age_s=600
)


def worker(
    pool: ConnectionPool[Any], namespace: str, registry: CollectorRegistry | None = None
) -> DeliveryWorker:
    return DeliveryWorker(
        pool,
        sender=WebhookSender(SETTINGS),
        schedule=RetrySchedule.from_settings(SETTINGS),
        settings=SETTINGS,
        namespace=namespace,
        metrics=WebhookMetrics(registry or CollectorRegistry()),
    )


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


def test_a_disabled_endpoint_fails_its_delivery_without_sending(
    pool: ConnectionPool[Any], database_url: str, namespace: str
) -> None:
    registry = CollectorRegistry()
    with WebhookReceiver() as receiver:
        delivery = new_delivery(database_url, namespace, receiver.url)
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(
                "UPDATE webhook_endpoints SET enabled = false WHERE id = %s",
                (owner(database_url, delivery),),
            )
        assert worker(pool, namespace, registry).deliver(delivery) == "skipped"
    assert receiver.received == []
    assert status(database_url, delivery) == ("failed", 0, None, True)
    failed = "ragway_webhook_deliveries_failed_total"
    assert registry.get_sample_value(failed, {"reason": "endpoint_disabled"}) == 1


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


def test_a_delivery_past_its_window_fails_after_its_last_attempt(
    pool: ConnectionPool[Any], database_url: str, namespace: str
) -> None:
    registry = CollectorRegistry()
    with WebhookReceiver(status=500) as receiver:
        delivery = new_delivery(database_url, namespace, receiver.url)
        age(database_url, delivery, created_at=SETTINGS.max_age_s)
        assert worker(pool, namespace, registry).deliver(delivery) == "failed"
    assert len(receiver.received) == 1
    assert status(database_url, delivery) == ("failed", 1, 500, True)
    assert staged(database_url, namespace, delivery) == [0]  # no further attempt
    failed = "ragway_webhook_deliveries_failed_total"
    assert registry.get_sample_value(failed, {"reason": "retries_exhausted"}) == 1
