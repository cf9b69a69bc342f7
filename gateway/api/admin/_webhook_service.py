"""The admin side of webhooks: endpoints checked and saved, their log read, a test sent.

Objects have OpenAI's shapes (``webhook_endpoint``, ``webhook_endpoint.deleted``,
``webhook_endpoint.test``), so ``openai``'s ``client.webhooks`` resource drives them with
``base_url=<gateway>/admin``. The signing secret appears only in the answers to create and
rotate; ``signing_secret_hint`` tells secrets apart afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from configs import WebhookSettings
from gateway.platform.errors import InvalidRequestError, NotFoundError, UpstreamFailedError
from gateway.platform.pagination import list_object
from ingestion.collections import Page, PageRequest, new_id
from ingestion.errors import RecordNotFoundError
from ingestion.webhooks import (
    EVENT_TYPES,
    DeliveryRecord,
    EndpointRecord,
    TargetRefusedError,
    WebhookEndpoints,
    WebhookSender,
    event_body,
    parse_target,
    resolve_target,
    secret_hint,
    signed_headers,
)

__all__ = ["WebhookAdmin"]

_KEEP_OLD_SECRET_S = 86_400.0
_SAMPLE_IDS = {"vector_store.file": "file-test", "response": "resp_test", "batch": "batch_test"}


class WebhookAdmin:
    """Built once per gateway process; the routes translate HTTP to these calls."""

    def __init__(
        self, endpoints: WebhookEndpoints, *, sender: WebhookSender, settings: WebhookSettings
    ) -> None:
        self._endpoints = endpoints
        self._sender = sender
        self._settings = settings

    async def create(
        self, *, name: str, url: str, event_types: Sequence[str], enabled: bool
    ) -> dict[str, Any]:
        types = _checked_types(event_types)
        await self._check_url(url)
        record = await self._endpoints.create(
            name=name, url=url, event_types=types, enabled=enabled
        )
        return endpoint_object(record, with_secret=True)

    async def list(self, page: PageRequest) -> dict[str, Any]:
        found = await self._endpoints.list(page)
        return list_object([endpoint_object(r) for r in found.items], found)

    async def get(self, endpoint_id: str) -> dict[str, Any]:
        with _not_found(endpoint_id):
            return endpoint_object(await self._endpoints.get(endpoint_id))

    async def update(
        self,
        endpoint_id: str,
        *,
        name: str | None,
        url: str | None,
        event_types: Sequence[str] | None,
        enabled: bool | None,
    ) -> dict[str, Any]:
        types = None if event_types is None else _checked_types(event_types)
        if url is not None:
            await self._check_url(url)
        with _not_found(endpoint_id):
            record = await self._endpoints.update(
                endpoint_id, name=name, url=url, event_types=types, enabled=enabled
            )
        return endpoint_object(record)

    async def delete(self, endpoint_id: str) -> dict[str, Any]:
        with _not_found(endpoint_id):
            await self._endpoints.delete(endpoint_id)
        return {"id": endpoint_id, "object": "webhook_endpoint.deleted", "deleted": True}

    async def rotate_secret(self, endpoint_id: str, *, keep_old: bool) -> dict[str, Any]:
        """A new secret; with ``keep_old``, deliveries are signed with both for 24 h."""
        keep_s = _KEEP_OLD_SECRET_S if keep_old else 0.0
        with _not_found(endpoint_id):
            record = await self._endpoints.rotate_secret(endpoint_id, keep_old_for_s=keep_s)
        return endpoint_object(record, with_secret=True)

    async def test(self, endpoint_id: str, event_type: str) -> dict[str, Any]:
        """Send a sample event of ``event_type`` now and report the receiver's status code
        (not logged, not retried; the SSRF guard applies as to any delivery)."""
        (event_type,) = _checked_types([event_type], param="event_type")
        with _not_found(endpoint_id):
            record = await self._endpoints.get(endpoint_id)
        family = event_type.rsplit(".", 1)[0]
        data: dict[str, Any] = {"id": _SAMPLE_IDS[family]}
        if family == "vector_store.file":
            data["vector_store_id"] = "vs_test"
        body = event_body(new_id("evt_"), event_type, datetime.now(UTC), data)
        headers = signed_headers(record.signing_keys, new_id("msg_"), int(time.time()), body)
        attempt = await self._sender.send(record.url, body, headers)
        if attempt.status_code is None:
            raise UpstreamFailedError(
                f"the test event was not delivered: {attempt.error}", code="webhook_test_failed"
            )
        return {
            "object": "webhook_endpoint.test",
            "webhook_endpoint_id": endpoint_id,
            "event_type": event_type,
            "status_code": attempt.status_code,
            "success": True,
        }

    async def deliveries(self, endpoint_id: str, page: PageRequest) -> dict[str, Any]:
        with _not_found(endpoint_id):
            found: Page[DeliveryRecord] = await self._endpoints.deliveries(endpoint_id, page)
        return list_object([delivery_object(d) for d in found.items], found)

    async def _check_url(self, url: str) -> None:
        settings = self._settings
        try:
            target = parse_target(url, max_length=settings.max_url_length)
            await resolve_target(target, allow_private=settings.allow_private_targets)
        except TargetRefusedError as exc:
            raise InvalidRequestError(exc.message, param="url", code=exc.code) from exc


def event_types_object() -> dict[str, Any]:
    return {"object": "list", "data": list(EVENT_TYPES)}


def endpoint_object(record: EndpointRecord, *, with_secret: bool = False) -> dict[str, Any]:
    shown = {
        "id": record.id,
        "object": "webhook_endpoint",
        "name": record.name,
        "url": record.url,
        "event_types": list(record.event_types),
        "enabled": record.enabled,
        "signing_secret_hint": secret_hint(record.secret),
        "created_at": _unix(record.created_at),
        "updated_at": _unix(record.updated_at),
    }
    if with_secret:
        shown["signing_secret"] = record.secret
    return shown


def delivery_object(record: DeliveryRecord) -> dict[str, Any]:
    """One line of the delivery log; ``id`` is the ``webhook-id`` every attempt carried."""
    return {
        "id": record.id,
        "object": "webhook_delivery",
        "webhook_endpoint_id": record.endpoint_id,
        "event_id": record.event_id,
        "event_type": record.event_type,
        "status": record.status,
        "attempts": record.attempts,
        "last_status_code": record.last_status_code,
        "last_error": record.last_error,
        "last_attempt_at": _unix(record.last_attempt_at),
        "next_attempt_at": _unix(record.next_attempt_at),
        "delivered_at": _unix(record.delivered_at),
        "created_at": _unix(record.created_at),
        "updated_at": _unix(record.updated_at),
    }


def _checked_types(types: Sequence[str], *, param: str = "event_types") -> list[str]:
    if not types:
        raise InvalidRequestError("name at least one event type", param=param)
    unknown = [t for t in types if t not in EVENT_TYPES]
    if unknown:
        raise InvalidRequestError(
            f"{unknown[0]!r} is not an event type ragway sends; use any of "
            + ", ".join(EVENT_TYPES),
            param=param,
            code="invalid_event_type",
        )
    return sorted(set(types))


@contextmanager
def _not_found(endpoint_id: str) -> Iterator[None]:
    """``RecordNotFoundError`` -> 404 in OpenAI's shape."""
    try:
        yield
    except RecordNotFoundError as exc:
        raise NotFoundError(
            f"no webhook endpoint {endpoint_id!r}", param="webhook_endpoint_id"
        ) from exc


def _unix(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())
