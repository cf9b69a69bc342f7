"""``GET /admin/audit``: the audit trail of tool and PII decisions (admin keys only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Controller, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import Parameter

from gateway.admin import admin_dependency
from gateway.auth import Principal
from gateway.tools._audit_store import AuditQuery, AuditStore

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
        kind: str | None = Parameter(default=None, description="tool or pii"),
        key_id: str | None = None,
        subject: str | None = Parameter(default=None, description="tool name / PII policy"),
        decision: str | None = None,
        since: datetime | None = None,
        before: str | None = Parameter(default=None, description="next_before of a page"),
        limit: int = Parameter(default=100, ge=1, le=1000),
    ) -> dict[str, Any]:
        page = await store.list(AuditQuery(kind, key_id, subject, decision, since, before, limit))
        return {"object": "list", "data": page.events, "next_before": page.next_before}
