"""The ``principal`` Litestar dependency: the caller's API key, authenticated once per request."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import Provide

from gateway.policy.auth._principal import Authenticator, Principal

__all__ = ["bearer_token", "principal_dependency"]


def bearer_token(authorization: str | None) -> str | None:
    """The token of ``Authorization: Bearer <token>``; None when absent or another scheme."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


async def _principal(request: Request[Any, Any, Any]) -> Principal:
    authenticator: Authenticator = request.app.state.authenticator
    return await authenticator.authenticate(bearer_token(request.headers.get("authorization")))


def principal_dependency() -> Provide:
    """Register as ``dependencies={"principal": principal_dependency()}``; reads the
    ``Authenticator`` that the app's lifespan puts in ``app.state.authenticator``."""
    return Provide(_principal)
