"""Who is signed in to the console: the ``user`` and ``admin`` dependencies, and CSRF.

Every console request re-reads the session's key: a key revoked, expired or deleted ends the
session there and then. Every request that changes something must carry the session's CSRF
token (the ``X-CSRF-Token`` header, which the console's script adds to each htmx call, or a
``csrf_token`` form field) and, when the browser sends an ``Origin``, come from this origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from litestar import Request
from litestar.di import NamedDependency, Provide

from gateway.api.console._services import ConsoleServices
from gateway.api.console._session import SessionData, same_token
from gateway.platform.errors import NotFoundError, PermissionDeniedError
from gateway.policy.auth import Principal, principal_from_record
from gateway.policy.keys import KeyRecord

__all__ = [
    "COOKIE",
    "CSRF_HEADER",
    "ConsoleUser",
    "SignInRequired",
    "admin_dependency",
    "check_origin",
    "console_services",
    "user_dependency",
]

COOKIE = "ragway_console"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SignInRequired(Exception):
    """No live session: the page sends the browser to the sign-in page."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    """The signed-in key (as the admin API lists it), its principal and its session."""

    key: KeyRecord
    principal: Principal
    session: SessionData
    token: str  # the session's cookie token (sign-out ends it)

    @property
    def is_admin(self) -> bool:
        return self.principal.is_admin

    @property
    def csrf(self) -> str:
        return self.session.csrf


def console_services(request: Request[Any, Any, Any]) -> ConsoleServices:
    services: ConsoleServices = request.app.state.console
    return services


def check_origin(request: Request[Any, Any, Any]) -> None:
    """A change must come from a page of this origin (when the browser says where from)."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    host = request.headers.get("host", "")
    if origin == "null" or urlsplit(origin).netloc.lower() != host.lower():
        raise PermissionDeniedError("this request came from another site", code="csrf_failed")


async def _user(request: Request[Any, Any, Any]) -> ConsoleUser:
    services = console_services(request)
    token = request.cookies.get(COOKIE)
    session = await services.sessions.find(token)
    if session is None or token is None:
        raise SignInRequired("expired" if token else "")
    try:
        record = await services.keys.get(session.key_id)
    except NotFoundError:
        record = None
    now = datetime.now(UTC)
    if (
        record is None
        or record.revoked_at is not None
        or (record.expires_at is not None and record.expires_at <= now)
    ):
        await services.sessions.end(token)
        raise SignInRequired("key_inactive")
    if request.method not in _SAFE_METHODS:
        check_origin(request)
        given = request.headers.get(CSRF_HEADER)
        if given is None and request.content_type[0] == "application/x-www-form-urlencoded":
            given = (await request.form()).get(CSRF_FIELD)
        if not same_token(given if isinstance(given, str) else None, session.csrf):
            raise PermissionDeniedError(
                "the form's security token is missing or stale; reload the page",
                code="csrf_failed",
            )
    return ConsoleUser(
        key=record, principal=principal_from_record(record), session=session, token=token
    )


async def _admin(user: NamedDependency[ConsoleUser]) -> ConsoleUser:
    if not user.is_admin:
        raise PermissionDeniedError("this page is for admin keys only", code="admin_required")
    return user


def user_dependency() -> Provide:
    """``user``: the signed-in console user (redirects to sign-in when there is none)."""
    return Provide(_user)


def admin_dependency() -> Provide:
    """``admin``: the signed-in user, who must hold an admin key (403 otherwise)."""
    return Provide(_admin)
