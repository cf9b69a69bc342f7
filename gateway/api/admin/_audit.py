"""``GET /admin/audit``: the audit trail of tool and PII decisions (admin keys only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery, QueryParameter

from gateway.api.admin._guard import admin_dependency
from gateway.policy.audit import AuditQuery, AuditStore
from gateway.policy.auth import Principal

__all__ = ["AuditController"]


def _store(state: State) -> AuditStore:
    return AuditStore(state.resources.pool)


class AuditController(Controller):
    path = "/admin/audit"
    tags = ["admin"]
    dependencies = {"admin": admin_dependency(), "store": Provide(_store, sync_to_thread=False)}

    @get("/", summary="Audit events (tool and PII decisions), newest first", cache=False)
    async def list_events(
        self,
        admin: NamedDependency[Principal],
        store: NamedDependency[AuditStore],
        kind: Annotated[str | None, QueryParameter(description="tool or pii")] = None,
        key_id: FromQuery[str | None] = None,
        subject: Annotated[str | None, QueryParameter(description="tool / PII policy")] = None,
        decision: FromQuery[str | None] = None,
        since: FromQuery[datetime | None] = None,
        before: Annotated[str | None, QueryParameter(description="a page's next_before")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        page = await store.list(AuditQuery(kind, key_id, subject, decision, since, before, limit))
        return {"object": "list", "data": page.events, "next_before": page.next_before}
