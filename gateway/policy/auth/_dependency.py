"""The ``principal`` Litestar dependency: the caller's API key, authenticated once per request."""

from __future__ import annotations

from collections.abc import Mapping
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


def request_key(headers: Mapping[str, str]) -> str | None:
    """The API key a model request carries: ``Authorization: Bearer`` (OpenAI's SDK) or
    ``x-api-key`` (Anthropic's SDK and Claude Code); the bearer token wins when both are set."""
    return bearer_token(headers.get("authorization")) or headers.get("x-api-key") or None


async def _principal(request: Request[Any, Any, Any]) -> Principal:
    authenticator: Authenticator = request.app.state.authenticator
    return await authenticator.authenticate(request_key(request.headers))


def principal_dependency() -> Provide:
    """Register as ``dependencies={"principal": principal_dependency()}``; reads the
    ``Authenticator`` that the app's lifespan puts in ``app.state.authenticator``."""
    return Provide(_principal)
