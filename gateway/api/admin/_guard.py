"""The ``admin`` dependency: the caller's key must have the admin role (401 / 403 otherwise)."""

from __future__ import annotations

from litestar.di import NamedDependency, Provide

from gateway.platform.errors import PermissionDeniedError
from gateway.policy.auth import Principal

__all__ = ["admin_dependency", "require_admin"]


def require_admin(principal: Principal) -> Principal:
    if not principal.is_admin:
        raise PermissionDeniedError(
            "this API key may not use the admin API (it needs the 'admin' role)",
            code="admin_required",
        )
    return principal


async def _admin(principal: NamedDependency[Principal]) -> Principal:
    return require_admin(principal)


def admin_dependency() -> Provide:
    """Register as ``dependencies={"admin": admin_dependency()}`` on admin controllers; it
    builds on the app-wide ``principal`` dependency
    (``gateway.policy.auth.principal_dependency``)."""
    return Provide(_admin)
