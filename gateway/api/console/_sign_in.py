"""Signing in to the console with an API key, and out again.

The sign-in form is protected by a double-submit token (a short-lived HttpOnly cookie that
the form must repeat), since there is no session yet to hold one; a successful sign-in opens
a fresh session (a token planted before sign-in is never promoted), and failed ones are
counted per client address (``console.max_sign_in_failures`` a minute).
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template

from gateway.api.console._render import page
from gateway.api.console._services import ConsoleServices
from gateway.api.console._session import same_token
from gateway.api.console._user import (
    COOKIE,
    ConsoleUser,
    check_origin,
    console_services,
)
from gateway.platform.errors import AuthenticationError, PermissionDeniedError

__all__ = ["SignInController", "safe_next"]

LOGIN_COOKIE = "ragway_console_login"
_LOGIN_TTL_S = 900
_REASONS = {
    "expired": "Your session ended. Sign in again.",
    "key_inactive": "The key of your session was revoked, expired or deleted.",
    "signed_out": "You are signed out.",
}


def safe_next(target: str | None) -> str:
    """Where to go after sign-in: a console path of this site, never another site."""
    if (
        not target
        or not target.startswith("/console/")
        or target.startswith("/console/login")
        or "//" in target
        or "\\" in target
        or any(ord(ch) < 0x21 for ch in target)
        or len(target) > 512
    ):
        return "/console/"
    return target


def _secure(request: Request[Any, Any, Any], services: ConsoleServices) -> bool:
    mode = services.settings.console.secure_cookie
    return mode == "always" or (mode == "auto" and request.url.scheme == "https")


def _client(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


def _form(
    request: Request[Any, Any, Any],
    *,
    next_path: str,
    error: str = "",
    notice: str = "",
    status_code: int = 200,
) -> Template:
    services = console_services(request)
    token = secrets.token_urlsafe(32)
    response = page(
        "login.html",
        None,
        nav="login",
        status_code=status_code,
        login_token=token,
        next_path=next_path,
        error=error,
        notice=notice,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=_LOGIN_TTL_S,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=_secure(request, services),
    )
    return response


class SignInController(Controller):
    path = "/"
    include_in_schema = False

    @get("/login", cache=False)
    async def sign_in_page(
        self,
        request: Request[Any, Any, Any],
        reason: FromQuery[str] = "",
        next: FromQuery[str] = "",
    ) -> Template | Redirect:
        services = console_services(request)
        if await services.sessions.find(request.cookies.get(COOKIE)) is not None:
            return Redirect(path=safe_next(next), status_code=303)
        return _form(request, next_path=safe_next(next), notice=_REASONS.get(reason, ""))

    @post("/login", status_code=303)
    async def sign_in(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        services = console_services(request)
        check_origin(request)
        next_path = safe_next(data.get("next"))
        if not same_token(data.get("csrf_token"), request.cookies.get(LOGIN_COOKIE) or ""):
            raise PermissionDeniedError(
                "the sign-in form expired or was not sent from this site; reload the page",
                code="csrf_failed",
            )
        key = (data.get("api_key") or "").strip()
        await services.sessions.check_failures(_client(request))
        try:
            if not key or len(key) > 512:
                raise AuthenticationError("invalid API key")
            principal = await services.authenticator.authenticate(key)
        except AuthenticationError:
            await services.sessions.count_failure(_client(request))
            return _form(
                request,
                next_path=next_path,
                error="That API key is not valid (unknown, revoked or expired).",
                status_code=401,
            )
        token, _ = await services.sessions.start(principal.key_id)
        response: Response[Any] = Redirect(path=next_path, status_code=303)
        response.set_cookie(
            COOKIE,
            token,
            path="/console",
            httponly=True,
            samesite="strict",
            secure=_secure(request, services),
        )
        response.delete_cookie(LOGIN_COOKIE, path="/console")
        return response

    @post("/logout", status_code=303)
    async def sign_out(
        self, request: Request[Any, Any, Any], user: NamedDependency[ConsoleUser]
    ) -> Response[Any]:
        await console_services(request).sessions.end(user.token)
        response: Response[Any] = Redirect(path="/console/login?reason=signed_out", status_code=303)
        response.delete_cookie(COOKIE, path="/console")
        if request.headers.get("hx-request") == "true":
            response.headers["hx-redirect"] = "/console/login?reason=signed_out"
        return response
