"""Model aliases to deployments: weighted choice, fallback, circuit breakers."""

from __future__ import annotations

from gateway.providers.routing._breaker import BreakerState, CircuitBreaker
from gateway.providers.routing._router import Router, RouteTrace, RoutingObserver
from gateway.providers.routing._routes import (
    ConfigurationError,
    Deployment,
    ModelRoute,
    build_routes,
)

__all__ = [
    "BreakerState",
    "CircuitBreaker",
    "ConfigurationError",
    "Deployment",
    "ModelRoute",
    "RouteTrace",
    "Router",
    "RoutingObserver",
    "build_routes",
]
