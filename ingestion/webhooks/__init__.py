"""Webhooks: signed event deliveries (Standard Webhooks, as OpenAI sends them) to the
endpoints admins register, retried with backoff for up to a day, behind an SSRF guard.
Every worker keeps the log: lost deliveries swept, old rows purged (``DeliveryUpkeep``).

Emitting an event is :class:`WebhookEvents` ``.record`` (or ``.record_sync``) inside the
transaction of the change it reports; workers deliver it (``deliver_webhook``).
"""

from __future__ import annotations

from ingestion.webhooks._delivery import DeliveryWorker, declare_webhook_actors
from ingestion.webhooks._endpoints import DeliveryRecord, EndpointRecord, WebhookEndpoints
from ingestion.webhooks._errors import TargetRefusedError
from ingestion.webhooks._events import DELIVER_ACTOR, EVENT_TYPES, WebhookEvents, event_body
from ingestion.webhooks._metrics import WebhookMetrics
from ingestion.webhooks._schedule import RetrySchedule
from ingestion.webhooks._sender import Attempt, WebhookSender
from ingestion.webhooks._signing import new_secret, secret_hint, signed_headers
from ingestion.webhooks._targets import Target, is_public_address, parse_target, resolve_target
from ingestion.webhooks._upkeep import BATCH_ROWS, DeliveryUpkeep

__all__ = [
    "BATCH_ROWS",
    "DELIVER_ACTOR",
    "EVENT_TYPES",
    "Attempt",
    "DeliveryRecord",
    "DeliveryUpkeep",
    "DeliveryWorker",
    "EndpointRecord",
    "RetrySchedule",
    "Target",
    "TargetRefusedError",
    "WebhookEndpoints",
    "WebhookEvents",
    "WebhookMetrics",
    "WebhookSender",
    "declare_webhook_actors",
    "event_body",
    "is_public_address",
    "new_secret",
    "parse_target",
    "resolve_target",
    "secret_hint",
    "signed_headers",
]
