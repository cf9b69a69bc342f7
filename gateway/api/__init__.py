"""The OpenAI-compatible API: one package per endpoint family (protocol / serving / its
``Family``), the endpoint table ``FAMILIES``, thin routes, services built once in
``ApiServices.open``."""

from __future__ import annotations

from gateway.api.http._busy_poll import BusyPoll
from gateway.api.http._front import GatewayHttpProtocol
from gateway.api.http._request import GatewayRequest
from gateway.api.http._uvicorn_internals import (
    UvicornInternalsError,
    missing_uvicorn_internals,
    require_uvicorn_internals,
)
from gateway.api.openai._controllers import GatewayLitestar, api_route_handlers
from gateway.api.openai._dispatch import Dispatch
from gateway.api.openai._openapi import document_api_routes
from gateway.api.openai._services import ApiServices
from gateway.api.openai._serving import Family, OpenAIServing
from gateway.api.openai._table import FAMILIES

HTTP_PROTOCOL = (
    "gateway.api:GatewayHttpProtocol"  # uvicorn's ``http=`` option (gateway.api.http._front)
)

__all__ = [
    "FAMILIES",
    "HTTP_PROTOCOL",
    "ApiServices",
    "BusyPoll",
    "Dispatch",
    "Family",
    "GatewayHttpProtocol",
    "GatewayLitestar",
    "GatewayRequest",
    "OpenAIServing",
    "UvicornInternalsError",
    "api_route_handlers",
    "document_api_routes",
    "missing_uvicorn_internals",
    "require_uvicorn_internals",
]
