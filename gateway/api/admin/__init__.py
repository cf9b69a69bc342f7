"""The admin API: keys, usage, the audit trail and webhooks (admin keys only)."""

from __future__ import annotations

from typing import Any

from gateway.api.admin._audit import AuditController
from gateway.api.admin._guard import admin_dependency, require_admin
from gateway.api.admin._keys import AdminKeysController
from gateway.api.admin._usage import AdminUsageController
from gateway.api.admin._webhook_service import WebhookAdmin
from gateway.api.admin._webhooks import WebhooksController

__all__ = [
    "AdminKeysController",
    "AdminUsageController",
    "AuditController",
    "WebhookAdmin",
    "WebhooksController",
    "admin_dependency",
    "admin_route_handlers",
    "require_admin",
]


def admin_route_handlers() -> list[Any]:
    return [AdminKeysController, AdminUsageController, AuditController, WebhooksController]
