"""The admin API (keys, usage) and the access-policy services it shares with the pipeline."""

from __future__ import annotations

from typing import Any

from gateway.api.admin._guard import admin_dependency, require_admin
from gateway.api.admin._keys import AdminKeysController
from gateway.api.admin._services import PolicyServices, price_book
from gateway.api.admin._usage import AdminUsageController

__all__ = [
    "AdminKeysController",
    "AdminUsageController",
    "PolicyServices",
    "admin_dependency",
    "admin_route_handlers",
    "price_book",
    "require_admin",
]


def admin_route_handlers() -> list[Any]:
    return [AdminKeysController, AdminUsageController]
