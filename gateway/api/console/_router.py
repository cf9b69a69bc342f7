"""The console's router: every page under ``/console``, with its own errors and headers.

Nothing here is on the API's path: the router's dependencies, hooks and exception handlers
apply to console routes only.
"""

from __future__ import annotations

from typing import Any

from litestar import Router, get
from litestar.datastructures import CacheControlHeader
from litestar.params import FromPath
from litestar.static_files import create_static_files_router

from gateway.api.console import _audit, _collections, _health, _home, _keys, _usage
from gateway.api.console._render import STATIC_DIR, exception_handlers, security_headers
from gateway.api.console._sign_in import SignInController
from gateway.api.console._user import admin_dependency, user_dependency
from gateway.platform.errors import NotFoundError

__all__ = ["console_router"]


@get("/{path:path}", include_in_schema=False, cache=False)
async def _unknown_page(path: FromPath[str]) -> None:
    raise NotFoundError(f"there is no console page at /console{path}")


def console_router() -> Router:
    static = create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        name="console-static",
        cache_control=CacheControlHeader(max_age=86_400, private=True),
        include_in_schema=False,
    )
    handlers: list[Any] = [SignInController, static]
    for area in (_home, _keys, _collections, _usage, _health, _audit):
        handlers += area.routes()
    handlers.append(_unknown_page)
    return Router(
        path="/console",
        route_handlers=handlers,
        dependencies={"user": user_dependency(), "admin": admin_dependency()},
        exception_handlers=exception_handlers(),
        after_request=security_headers,
        include_in_schema=False,
    )
