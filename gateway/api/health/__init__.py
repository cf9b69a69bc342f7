"""Liveness and readiness endpoints."""

from __future__ import annotations

from gateway.api.health._checks import (
    Check,
    CheckResult,
    PostgresCheck,
    ReadinessService,
    RedisCheck,
)
from gateway.api.health._controller import HealthController

__all__ = [
    "Check",
    "CheckResult",
    "HealthController",
    "PostgresCheck",
    "ReadinessService",
    "RedisCheck",
]
