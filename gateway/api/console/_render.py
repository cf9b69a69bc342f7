"""Rendering console pages: the template engine, the page helper, HTML errors and headers.

Pages are Jinja templates rendered by Litestar (autoescaped; a value is never marked safe).
Every response says ``no-store`` (pages show keys and spend) and carries a strict Content
Security Policy: scripts, styles and images come from this origin only, and nothing inline
runs, so even a string that escaped escaping could not execute.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date, datetime
from pathlib import Path
from typing import Any

import psycopg
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.template import TemplateConfig
from litestar.types import ExceptionHandlersMap

from gateway.api.console._user import ConsoleUser, SignInRequired
from gateway.platform.errors import GatewayError, database_unavailable, embedder_unavailable
from inference.embedders import EmbeddingError

__all__ = [
    "HEADERS",
    "STATIC_DIR",
    "exception_handlers",
    "fragment",
    "is_htmx",
    "page",
    "security_headers",
    "template_config",
]

_log = logging.getLogger(__name__)

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
TEMPLATES_DIR = HERE / "templates"

HEADERS = {
    "cache-control": "no-store",
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",  # "no-referrer" makes Chromium send "Origin: null"
}


def _asset_version() -> str:
    """A digest of the static files: their URLs change when they do (cache busting)."""
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIR.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _when(value: datetime | date | float | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, float | int):
        value = datetime.fromtimestamp(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC") if value.tzinfo else value.isoformat(" ")
    return value.isoformat()


def _money(value: float | None) -> str:
    if value is None:
        return "—"
    if 0 < abs(value) < 0.01:  # a few requests cost fractions of a cent: show them
        return "$" + f"{value:.6f}".rstrip("0")
    return f"${value:,.2f}"


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(when=_when, money=_money, number=_number)
    env.globals["asset_version"] = _asset_version()
    return env


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    env = environment()
    return TemplateConfig(engine=JinjaTemplateEngine.from_environment(env))


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


def page(
    template: str,
    user: ConsoleUser | None,
    *,
    nav: str = "",
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Template:
    """A whole page (``templates/<template>``, which extends ``base.html``)."""
    return Template(
        template_name=template,
        context={"user": user, "csrf": user.csrf if user else "", "nav": nav, **context},
        status_code=status_code,
        headers=headers,
    )


def fragment(
    template: str, user: ConsoleUser | None, *, status_code: int = 200, **context: Any
) -> Template:
    """A piece of a page, for htmx to swap in (``templates/<template>``, no layout)."""
    return page(template, user, status_code=status_code, **context)


def security_headers(response: Response[Any]) -> Response[Any]:
    """``after_request`` hook of the console's router."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _sign_in(request: Request[Any, Any, Any], exc: SignInRequired) -> Response[Any]:
    target = "/console/login" + (f"?reason={exc.reason}" if exc.reason else "")
    if is_htmx(request):  # htmx follows this header with a full page load
        return Response(b"", status_code=200, headers={**HEADERS, "hx-redirect": target})
    path = request.url.path
    if request.method == "GET" and path.startswith("/console/") and path != "/console/login":
        sep = "&" if "?" in target else "?"
        target += f"{sep}next={path}"
    response: Response[Any] = Redirect(path=target, status_code=303)
    return security_headers(response)


def _error(request: Request[Any, Any, Any], status: int, message: str) -> Response[Any]:
    context: dict[str, Any] = {"status": status, "message": message}
    if is_htmx(request):
        # Errors land in the page's alert region, whatever the element that asked.
        headers = {**HEADERS, "hx-retarget": "#flash", "hx-reswap": "innerHTML"}
        return page("_error.html", None, status_code=status, headers=headers, **context)
    return page("error.html", None, status_code=status, headers=HEADERS, **context)


def _gateway_error(request: Request[Any, Any, Any], exc: GatewayError) -> Response[Any]:
    response = _error(request, exc.status_code, exc.message)
    for name, value in exc.headers.items():
        response.headers[name] = value
    return response


def _validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    problems = []
    for item in exc.extra or []:
        if isinstance(item, dict):
            key = item.get("key") or ""
            problems.append(f"{key}: {item.get('message', '')}".strip(": "))
    message = "; ".join(problems) or "the form is not valid"
    return _error(request, 400, message)


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if status >= 500:
        _log.error("console request failed", exc_info=exc)
        return _error(request, status, "something went wrong on our side")
    return _error(request, status, str(exc.detail))


def _database_error(
    request: Request[Any, Any, Any], exc: psycopg.OperationalError
) -> Response[Any]:
    return _gateway_error(request, database_unavailable(exc))


def _embedder_error(request: Request[Any, Any, Any], exc: EmbeddingError) -> Response[Any]:
    return _gateway_error(request, embedder_unavailable(exc))


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    _log.exception("console request failed", extra={"path": request.url.path})
    return _error(request, 500, "something went wrong on our side")


def exception_handlers() -> ExceptionHandlersMap:
    """The console's errors as HTML (pages) or alerts (htmx), never JSON: the same mapping
    as the API's (``gateway.platform.errors``), rendered for a person."""
    return {
        SignInRequired: _sign_in,
        GatewayError: _gateway_error,
        ValidationException: _validation_error,
        HTTPException: _http_error,
        psycopg.OperationalError: _database_error,
        EmbeddingError: _embedder_error,
        Exception: _unexpected,
    }
