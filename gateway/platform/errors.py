"""The gateway's exception tree and the one place it becomes OpenAI's error shape.

Every error a client sees is ``{"error": {"message", "type", "param", "code"}}`` with the
status code the ``openai`` SDK maps to its exception classes (400 BadRequestError, 401
AuthenticationError, 403 PermissionDeniedError, 404 NotFoundError, 409 ConflictError,
422 UnprocessableEntityError, 429 RateLimitError, >=500 InternalServerError).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import psycopg
from litestar import Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.types import ExceptionHandlersMap

from inference.embedders import EmbeddingError
from ingestion.errors import StorageUnavailableError

__all__ = [
    "AuthenticationError",
    "ConflictError",
    "GatewayError",
    "GatewayTimeoutError",
    "InvalidRequestError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServiceUnavailableError",
    "UnprocessableError",
    "UpstreamFailedError",
    "database_unavailable",
    "embedder_unavailable",
    "error_body",
    "exception_handlers",
]

_log = logging.getLogger(__name__)


class GatewayError(Exception):
    """An error with a status code and OpenAI's error fields."""

    status_code = 500
    error_type = "server_error"
    default_code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code if code is not None else self.default_code
        self.headers = dict(headers or {})


class InvalidRequestError(GatewayError):
    status_code = 400
    error_type = "invalid_request_error"


class AuthenticationError(GatewayError):
    status_code = 401
    error_type = "invalid_request_error"
    default_code = "invalid_api_key"


class PermissionDeniedError(GatewayError):
    status_code = 403
    error_type = "invalid_request_error"
    default_code = "permission_denied"


class NotFoundError(GatewayError):
    status_code = 404
    error_type = "invalid_request_error"
    default_code = "not_found"


class ConflictError(GatewayError):
    status_code = 409
    error_type = "invalid_request_error"
    default_code = "conflict"


class PayloadTooLargeError(GatewayError):
    status_code = 413
    error_type = "invalid_request_error"
    default_code = "request_too_large"


class UnprocessableError(GatewayError):
    status_code = 422
    error_type = "invalid_request_error"


class RateLimitError(GatewayError):
    status_code = 429
    error_type = "rate_limit_error"
    default_code = "rate_limit_exceeded"


class UpstreamFailedError(GatewayError):
    status_code = 502
    error_type = "upstream_error"
    default_code = "bad_gateway"


class ServiceUnavailableError(GatewayError):
    status_code = 503
    error_type = "server_error"
    default_code = "service_unavailable"


class GatewayTimeoutError(GatewayError):
    status_code = 504
    error_type = "timeout_error"
    default_code = "upstream_timeout"


def error_body(
    message: str, error_type: str, *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def _gateway_error(_: Request[Any, Any, Any], exc: GatewayError) -> Response[dict[str, Any]]:
    return Response(
        error_body(exc.message, exc.error_type, param=exc.param, code=exc.code),
        status_code=exc.status_code,
        headers=exc.headers,
    )


def _validation_error(
    _: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    param: str | None = None
    message = exc.detail
    extra = exc.extra
    if isinstance(extra, list) and extra and isinstance(extra[0], dict):
        first = extra[0]
        param = str(first.get("key")) if first.get("key") else None
        detail = first.get("message")
        if detail:
            message = f"{detail}" + (f" (at '{param}')" if param else "")
    return Response(
        error_body(message, "invalid_request_error", param=param, code="invalid_request"),
        status_code=400,
    )


def _http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    if status == 413:
        body = error_body(
            "request body is larger than the configured limit (gateway.max_body_bytes)",
            "invalid_request_error",
            code="request_too_large",
        )
    elif isinstance(exc, NotFoundException) or status == 404:
        body = error_body(exc.detail or "not found", "invalid_request_error", code="not_found")
    elif status == 405:
        body = error_body(exc.detail, "invalid_request_error", code="method_not_allowed")
    elif status < 500:
        body = error_body(exc.detail, "invalid_request_error")
    else:
        body = error_body("internal server error", "server_error")
    return Response(body, status_code=status, headers=exc.headers)


def _data_error(
    request: Request[Any, Any, Any], exc: psycopg.DataError
) -> Response[dict[str, Any]]:
    """Postgres refused a value the client sent (SQLSTATE class 22: NUL in text, ...)."""
    detail = (exc.diag.message_primary or str(exc)).strip()
    # The detail can quote the value, which may be anything a client sent: not logged.
    _log.info("value refused by the database", extra={"path": request.url.path})
    return Response(
        error_body(
            f"a value in the request cannot be stored: {detail}",
            "invalid_request_error",
            code="invalid_value",
        ),
        status_code=400,
    )


def database_unavailable(exc: psycopg.OperationalError) -> ServiceUnavailableError:
    """Postgres down, restarting or out of connections: retryable, so 503 (not 500)."""
    return _unavailable("database", f"{type(exc).__name__}: {exc}")


def embedder_unavailable(exc: EmbeddingError) -> ServiceUnavailableError:
    """The embedder failed or cannot be reached (the shared one restarting): 503, retryable."""
    return _unavailable("embedder", str(exc))


def _unavailable(what: str, error: str) -> ServiceUnavailableError:
    _log.warning("%s unavailable", what, extra={"error": error})
    return ServiceUnavailableError(
        f"the {what} is unavailable; try again shortly",
        code=f"{what}_unavailable",
        headers={"retry-after": "1"},
    )


def _embedder_unavailable(
    request: Request[Any, Any, Any], exc: EmbeddingError
) -> Response[dict[str, Any]]:
    return _gateway_error(request, embedder_unavailable(exc))


def _storage_unavailable(
    request: Request[Any, Any, Any], exc: StorageUnavailableError
) -> Response[dict[str, Any]]:
    """Object storage (S3) unreachable or failing after its retries: 503, retryable."""
    return _gateway_error(request, _unavailable("storage", str(exc)))


def _database_unavailable(
    request: Request[Any, Any, Any], exc: psycopg.OperationalError
) -> Response[dict[str, Any]]:
    return _gateway_error(request, database_unavailable(exc))


def _unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    _log.exception("unhandled error", extra={"path": request.url.path})
    return Response(
        error_body("internal server error", "server_error", code="internal_error"), status_code=500
    )


def exception_handlers() -> ExceptionHandlersMap:
    """Handlers that render every error in OpenAI's shape; register them on the app."""
    return {
        GatewayError: _gateway_error,
        ValidationException: _validation_error,
        HTTPException: _http_error,
        psycopg.DataError: _data_error,
        psycopg.OperationalError: _database_unavailable,
        EmbeddingError: _embedder_unavailable,
        StorageUnavailableError: _storage_unavailable,
        Exception: _unexpected_error,
    }
