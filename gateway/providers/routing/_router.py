"""Weighted choice among healthy deployments, fallback with backoff within a deadline.

The router never sees stream bytes: for streams the operation it runs ends when the first
chunk has arrived, so a failure after that is the caller's to report and is never retried.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol, TypeVar

from configs import RoutingSettings
from gateway.platform import tracing
from gateway.platform.errors import (
    ConflictError,
    GatewayError,
    GatewayTimeoutError,
    InvalidRequestError,
    RateLimitError,
    ServiceUnavailableError,
    UnprocessableError,
    UpstreamFailedError,
)
from gateway.providers import (
    Target,
    UpstreamError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from gateway.providers.routing._routes import Deployment, ModelRoute

__all__ = ["RouteTrace", "Router", "RoutingObserver"]

T = TypeVar("T")
_log = logging.getLogger(__name__)

# Upstream 4xx that are the client's doing and keep their meaning (others become a 400).
_CLIENT_STATUSES: dict[int, type[GatewayError]] = {
    400: InvalidRequestError,
    409: ConflictError,
    413: InvalidRequestError,
    422: UnprocessableError,
}
# Upstream 4xx that are the gateway's configuration, not the client's request: a 502.
_CREDENTIAL_STATUSES = frozenset({401, 403, 407})
_CONFIGURATION_STATUSES = frozenset({402, 404, 405})


class RoutingObserver(Protocol):
    """Told about failed attempts (metrics); must not raise."""

    def upstream_error(self, deployment: str, kind: str) -> None: ...

    def fallback(self, deployment: str) -> None: ...


@dataclass(slots=True)
class RouteTrace:
    """What routing did for one request: for the access log and the overhead header."""

    deployment: str | None = None
    attempts: int = 0
    upstream_s: float = 0.0
    # with tracing on: the operation's GenAI name (set by the serving), the answer's model
    # and finish reasons (as seen), and the successful attempt's span, ended with the request
    operation: str = "chat"
    response_model: str | None = None
    finish_reasons: list[str] = field(default_factory=list)
    span: tracing.Span | None = None
    output: list[str] | None = None  # tracing.capture_content: the answer's text as it came


class Router:
    """Built once per process from the resolved routes."""

    def __init__(
        self,
        routes: Mapping[str, ModelRoute],
        *,
        settings: RoutingSettings,
        observer: RoutingObserver | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._routes = dict(routes)
        self._settings = settings
        self._observer = observer
        self._rng = rng or random.Random()  # noqa: S311 - load spreading, not security
        self._clock = clock
        self._sleep = sleep
        self._tracer = tracing.tracer()  # None: tracing off (set up before the router)

    @property
    def routes(self) -> Mapping[str, ModelRoute]:
        return self._routes

    def get(self, alias: str) -> ModelRoute | None:
        return self._routes.get(alias)

    async def call(
        self,
        route: ModelRoute,
        operation: Callable[[Deployment, Target], Awaitable[T]],
        trace: RouteTrace,
    ) -> T:
        """Run ``operation`` on deployments of ``route`` until one succeeds.

        Retryable upstream errors (connect, timeout, 5xx, 429, garbage) move on to the next
        deployment after a backoff, while attempts and the deadline allow. Client errors
        (4xx) are returned at once. The result is an ``GatewayError`` in OpenAI's shape.
        """
        settings = self._settings
        started = self._clock()
        deadline = started + settings.deadline_s
        order = self._order(route.deployments)
        if not order:
            raise ServiceUnavailableError(
                f"model '{route.alias}' is temporarily unavailable: every deployment is failing "
                "(circuit breaker open); try again later",
                code="model_unavailable",
            )
        last: UpstreamError | None = None
        for attempt in range(settings.max_attempts):
            deployment = order[attempt % len(order)]
            if attempt > 0:
                delay = self._backoff(attempt, last, deployment)
                if delay is None or self._clock() + delay >= deadline:
                    break
                if self._observer is not None and last is not None:
                    self._observer.fallback(last.deployment)
                if self._tracer is not None and last is not None:
                    tracing.current_span().add_event(
                        "ragway.fallback",
                        {"ragway.from": last.deployment, "ragway.to": deployment.name},
                    )
                if delay > 0:
                    await self._sleep(delay)
                if not deployment.breaker.allow():
                    if self._tracer is not None:
                        tracing.current_span().add_event(
                            "ragway.breaker_open", {"ragway.deployment": deployment.name}
                        )
                    continue
            remaining = deadline - self._clock()
            if remaining <= 0:
                break
            target = deployment.target
            if remaining < target.timeout_s:
                target = replace(target, timeout_s=remaining)
            trace.attempts += 1
            trace.deployment = deployment.name
            attempt_started = self._clock()
            span = token = None
            if self._tracer is not None:
                span, token = _attempt_span(self._tracer, trace, deployment, target)
            try:
                result = await operation(deployment, target)
            except UpstreamError as exc:
                if span is not None:
                    tracing.deactivate(token)
                    tracing.end_span(span, error=_kind(exc), message=exc.message)
                trace.upstream_s += self._clock() - attempt_started
                last = exc
                if self._observer is not None:
                    self._observer.upstream_error(deployment.name, _kind(exc))
                _log.warning("upstream attempt failed", extra=_log_fields(exc, deployment))
                if not exc.retryable:
                    deployment.breaker.success()  # it answered; the request was at fault
                    raise _client_error(exc, route.alias) from exc
                deployment.breaker.failure()
                continue
            except BaseException as exc:
                deployment.breaker.release()
                if span is not None:
                    tracing.deactivate(token)
                    tracing.end_span(span, error=type(exc).__name__)
                raise
            if span is not None:
                tracing.deactivate(token)
                trace.span = span  # ended with the request: a stream's whole length
            trace.upstream_s += self._clock() - attempt_started
            deployment.breaker.success()
            return result
        raise _exhausted(last, route.alias, trace.attempts, self._clock() >= deadline)

    def _order(self, deployments: Sequence[Deployment]) -> list[Deployment]:
        """Healthy deployments in a weighted random order (weighted sampling without
        replacement); the first one's breaker has already admitted this call."""
        if len(deployments) == 1:
            only = deployments[0]
            return [only] if only.breaker.allow() else []
        pool = list(deployments)
        order: list[Deployment] = []
        while pool:
            total = sum(d.weight for d in pool)
            pick = self._rng.random() * total
            for index, candidate in enumerate(pool):
                pick -= candidate.weight
                if pick <= 0 or index == len(pool) - 1:
                    order.append(pool.pop(index))
                    break
        for index, candidate in enumerate(order):
            if candidate.breaker.allow():
                return order[index:] + order[:index]
        return []

    def _backoff(
        self, attempt: int, last: UpstreamError | None, deployment: Deployment
    ) -> float | None:
        settings = self._settings
        delay = min(settings.backoff_initial_s * 2.0 ** (attempt - 1), settings.backoff_max_s)
        if (
            isinstance(last, UpstreamStatusError)
            and last.retry_after_s is not None
            and last.deployment == deployment.name
        ):
            if last.retry_after_s > settings.backoff_max_s:
                return None  # the same upstream asks for longer than we wait: tell the client
            delay = max(delay, last.retry_after_s)
        return delay


def _attempt_span(
    tracer: tracing.Tracer, trace: RouteTrace, deployment: Deployment, target: Target
) -> tuple[tracing.Span, object]:
    """One upstream attempt's client span (GenAI conventions), current while it runs (so
    the request to the upstream carries its ``traceparent``)."""
    operation = trace.operation
    span = tracing.start_span(
        f"{operation} {target.upstream_model}",
        kind=tracing.SpanKind.CLIENT,
        attributes={
            "gen_ai.operation.name": operation,
            "gen_ai.provider.name": tracing.PROVIDERS.get(deployment.kind, deployment.kind),
            "gen_ai.request.model": target.upstream_model,
            "server.address": tracing.host_of(target.base_url),
            "ragway.deployment": deployment.name,
            "ragway.attempt": trace.attempts,
        },
    )
    return span, tracing.activate(span)


def _kind(exc: UpstreamError) -> str:
    if isinstance(exc, UpstreamStatusError):
        return "429" if exc.status_code == 429 else f"{exc.status_code // 100}xx"
    return type(exc).__name__.removeprefix("Upstream").removesuffix("Error").lower()


def _log_fields(exc: UpstreamError, deployment: Deployment) -> dict[str, object]:
    """What a failed attempt logs: where, and what kind of failure; never the upstream's
    ``detail`` (it may quote the prompt). ``error`` is the gateway's own summary."""
    fields: dict[str, object] = {
        "model": deployment.alias,
        "deployment": deployment.name,
        "provider": deployment.kind,
        "kind": _kind(exc),
        "error": exc.message,
    }
    if isinstance(exc, UpstreamStatusError):
        fields["upstream_status"] = exc.status_code
        fields["upstream_code"] = exc.code or exc.error_type
    return fields


def _client_error(exc: UpstreamError, alias: str) -> GatewayError:
    """A non-retryable upstream error as the caller's error, in our words.

    Statuses that are the caller's doing keep the upstream's scrubbed ``detail`` (e.g. the
    context is too long); those that are the gateway's configuration (the upstream refused
    its credentials, does not know the model) are a 502 naming no upstream text.
    """
    if not isinstance(exc, UpstreamStatusError):
        return UpstreamFailedError(f"model '{alias}': {exc.message}")
    status = exc.status_code
    where = f"the upstream of model '{alias}' (deployment '{exc.deployment}')"
    if status in _CREDENTIAL_STATUSES:
        return UpstreamFailedError(
            f"{where} rejected the gateway's credentials (HTTP {status}); "
            "check the deployment's API key",
            code="upstream_auth_failed",
        )
    if status in _CONFIGURATION_STATUSES:
        return UpstreamFailedError(
            f"{where} refused the gateway's request (HTTP {status}); "
            "check the deployment's configuration",
            code="upstream_misconfigured",
        )
    error_class = _CLIENT_STATUSES.get(status, InvalidRequestError)
    message = exc.detail or f"{where} rejected the request (HTTP {status})"
    return error_class(message, param=exc.param, code=exc.code)


def _exhausted(
    last: UpstreamError | None, alias: str, attempts: int, deadline_passed: bool
) -> GatewayError:
    if last is None:
        return ServiceUnavailableError(
            f"model '{alias}' is temporarily unavailable: every deployment is failing "
            "(circuit breaker open); try again later",
            code="model_unavailable",
        )
    tried = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    if isinstance(last, UpstreamStatusError) and last.status_code == 429:
        headers = {}
        retry = ""
        if last.retry_after_s is not None:
            headers["Retry-After"] = str(max(1, round(last.retry_after_s)))
            retry = f"; retry after {headers['Retry-After']}s"
        return RateLimitError(
            f"model '{alias}' is rate limited upstream ({tried}){retry}", headers=headers
        )
    if isinstance(last, UpstreamTimeoutError) or deadline_passed:
        return GatewayTimeoutError(
            f"model '{alias}' did not answer in time ({tried}): {last.message}"
        )
    return UpstreamFailedError(f"model '{alias}' failed upstream ({tried}): {last.message}")
