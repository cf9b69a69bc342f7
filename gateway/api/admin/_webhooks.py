"""``/admin/webhooks``: webhook endpoints, their delivery log and test events (admins only).

Every route is also served under ``/admin/webhook_endpoints`` (and the event types under
``/admin/webhook_event_types``): OpenAI's paths, so ``OpenAI(base_url=<gateway>/admin)``'s
``client.webhooks.create / list / retrieve / update / delete / rotate_secret / test`` work.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, HttpMethod, delete, get, post, route
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.admin._guard import admin_dependency
from gateway.api.admin._webhook_service import WebhookAdmin, event_types_object
from gateway.api.http.idempotency import refuses_idempotency
from gateway.platform.pagination import page_dependency
from gateway.policy.auth import Principal
from ingestion.collections import PageRequest

__all__ = ["WebhooksController"]

_ROOT = ["/webhooks", "/webhook_endpoints"]
_ONE = [f"{root}/{{endpoint_id:str}}" for root in _ROOT]


def _paths(suffix: str) -> list[str]:
    return [f"{one}/{suffix}" for one in _ONE]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebhookCreate(_Body):
    url: str = Field(min_length=1)
    event_types: list[str]
    name: str = Field(default="", max_length=256)
    enabled: bool = True


class WebhookUpdate(_Body):
    """Only the fields sent change; ``event_types`` replaces the whole set."""

    url: str | None = Field(default=None, min_length=1)
    event_types: list[str] | None = None
    name: str | None = Field(default=None, max_length=256)
    enabled: bool | None = None


class RotateSecret(_Body):
    keep_old_secret_active_for_24_hours: bool = False


class TestEvent(_Body):
    event_type: str


def _webhooks(state: State) -> WebhookAdmin:
    service: WebhookAdmin = state.gateway.webhooks
    return service


class WebhooksController(Controller):
    """POSTs answer 200, as OpenAI's do."""

    path = "/admin"
    tags = ["admin"]
    dependencies = {
        "admin": admin_dependency(),
        "webhooks": Provide(_webhooks, sync_to_thread=False),
        "page": page_dependency(),
    }

    @post(
        _ROOT,
        summary="Register a webhook endpoint (its signing secret is in this response only)",
        status_code=200,
        middleware=[refuses_idempotency],
    )
    async def create(
        self,
        admin: NamedDependency[Principal],
        webhooks: NamedDependency[WebhookAdmin],
        data: JSONBody[WebhookCreate],
    ) -> dict[str, Any]:
        return await webhooks.create(
            name=data.name, url=data.url, event_types=data.event_types, enabled=data.enabled
        )

    @get(_ROOT, summary="List webhook endpoints", cache=False)
    async def list_endpoints(
        self,
        admin: NamedDependency[Principal],
        webhooks: NamedDependency[WebhookAdmin],
        page: NamedDependency[PageRequest],
    ) -> dict[str, Any]:
        return await webhooks.list(page)

    @get("/webhook_event_types", summary="The event types endpoints may subscribe to")
    async def event_types(self, admin: NamedDependency[Principal]) -> dict[str, Any]:
        return event_types_object()

    @get(_ONE, summary="One webhook endpoint", cache=False)
    async def retrieve(
        self,
        admin: NamedDependency[Principal],
        webhooks: NamedDependency[WebhookAdmin],
        endpoint_id: FromPath[str],
    ) -> dict[str, Any]:
        return await webhooks.get(endpoint_id)

    @route(
        _ONE,
        http_method=[HttpMethod.POST, HttpMethod.PATCH],
        summary="Change an endpoint; only the fields sent change",
        status_code=200,
    )
    async def update(
        self,
        admin: NamedDependency[Principal],
        webhooks: NamedDependency[WebhookAdmin],
        endpoint_id: FromPath[str],
        data: JSONBody[WebhookUpdate],
    ) -> dict[str, Any]:
        return await webhooks.update(
            endpoint_id,
            name=data.name,
            url=data.url,
            event_types=data.event_types,
            enabled=data.enabled,
        )

    @delete(_ONE, summary="Delete an endpoint and its delivery log", status_code=200)
    async def delete_endpoint(
        self,
        admin: NamedDependency[Principal],
        webhooks: NamedDependency[WebhookAdmin],
        endpoint_id: FromPath[str],
    ) -> dict[str, Any]:
        return await webhooks.delete(endpoint_id)

    @post(
        _paths("rotate_secret"),
        summary="New signing secret (in this response only); the old one may sign for 24 h",
        status_code=200,
        middleware=[refuses_idempotency],
    )
    async def rotate_secret(
        self,
        admin: NamedDependency[Principal],
        webhooks: NamedDependency[WebhookAdmin],
        endpoint_id: FromPath[str],
        data: JSONBody[RotateSecret | None] = None,
    ) -> dict[str, Any]:
        keep = data is not None and data.keep_old_secret_active_for_24_hours
        return await webhooks.rotate_secret(endpoint_id, keep_old=keep)

    @post(
        _paths("test"), summary="Send a sample event now; answers its status code", status_code=200
    )
    async def test(
        self,
        admin: NamedDependency[Principal],
        webhooks: NamedDependency[WebhookAdmin],
        endpoint_id: FromPath[str],
        data: JSONBody[TestEvent],
    ) -> dict[str, Any]:
        return await webhooks.test(endpoint_id, data.event_type)

    @get(_paths("deliveries"), summary="The endpoint's delivery log, newest first", cache=False)
    async def deliveries(
        self,
        admin: NamedDependency[Principal],
        webhooks: NamedDependency[WebhookAdmin],
        endpoint_id: FromPath[str],
        page: NamedDependency[PageRequest],
    ) -> dict[str, Any]:
        return await webhooks.deliveries(endpoint_id, page)
