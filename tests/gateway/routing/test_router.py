"""The router: weighted choice, fallback, breakers and the deadline, on real Deployments."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from typing import Any

import pytest

from configs import ModelAliasSettings, RoutingSettings
from gateway.platform.errors import (
    ConflictError,
    GatewayTimeoutError,
    InvalidRequestError,
    RateLimitError,
    ServiceUnavailableError,
    UnprocessableError,
    UpstreamFailedError,
)
from gateway.providers import (
    Target,
    UpstreamConnectError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from gateway.providers.routing import BreakerState, Deployment, Router, RouteTrace, build_routes


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def make_router(
    weights: dict[str, float], clock: Clock, **routing: Any
) -> tuple[Router, list[str]]:
    alias = ModelAliasSettings.model_validate(
        {
            "deployments": [
                {
                    "name": name,
                    "provider": "openai",
                    "model": name,
                    "base_url": "http://x",
                    "weight": w,
                }
                for name, w in weights.items()
            ]
        }
    )
    settings = RoutingSettings(**{"backoff_initial_s": 0.1, "backoff_max_s": 1.0, **routing})
    routes = build_routes(
        {"m": alias},
        env={},
        breaker_failures=settings.breaker_failures,
        breaker_cooldown_s=settings.breaker_cooldown_s,
        clock=clock,
    )
    router = Router(routes, settings=settings, rng=random.Random(1), clock=clock, sleep=clock.sleep)
    return router, []


def op(failures: Mapping[str, Exception], calls: list[str]) -> Any:
    async def call(deployment: Deployment, target: Target) -> str:
        calls.append(deployment.name)
        if deployment.name in failures:
            raise failures[deployment.name]
        return deployment.name

    return call


async def test_weighted_choice_spreads_by_weight() -> None:
    clock = Clock()
    router, calls = make_router({"a": 3, "b": 1}, clock)
    route = router.get("m")
    assert route is not None
    for _ in range(400):
        await router.call(route, op({}, calls), RouteTrace())
    share = Counter(calls)["a"] / len(calls)
    assert 0.68 < share < 0.82


async def test_retryable_errors_fall_back_with_backoff() -> None:
    clock = Clock()
    router, calls = make_router({"a": 1e6, "b": 1e-6}, clock)
    route = router.get("m")
    assert route is not None
    trace = RouteTrace()
    failure = UpstreamStatusError("boom", deployment="a", status_code=503)
    assert await router.call(route, op({"a": failure}, calls), trace) == "b"
    assert calls == ["a", "b"]
    assert trace.attempts == 2
    assert trace.deployment == "b"
    assert clock.now == pytest.approx(100.1)  # one backoff step


@pytest.mark.parametrize(
    ("status", "expected"),
    [(409, ConflictError), (422, UnprocessableError), (418, InvalidRequestError)],
)
async def test_other_client_statuses_keep_their_meaning(
    status: int, expected: type[Exception]
) -> None:
    router, calls = make_router({"a": 1}, Clock())
    route = router.get("m")
    assert route is not None
    error = UpstreamStatusError("no", deployment="a", status_code=status)
    with pytest.raises(expected):
        await router.call(route, op({"a": error}, calls), RouteTrace())
    assert calls == ["a"]


@pytest.mark.parametrize(
    ("status", "code"),
    [(401, "upstream_auth_failed"), (403, "upstream_auth_failed"), (404, "upstream_misconfigured")],
)
async def test_upstream_auth_failures_are_our_misconfiguration(status: int, code: str) -> None:
    router, calls = make_router({"a": 1}, Clock())
    route = router.get("m")
    assert route is not None
    error = UpstreamStatusError(
        "a answered", deployment="a", status_code=status, detail="key sk-leaked123 is wrong"
    )
    with pytest.raises(UpstreamFailedError) as caught:
        await router.call(route, op({"a": error}, calls), RouteTrace())
    assert caught.value.code == code
    assert f"HTTP {status}" in caught.value.message
    assert "leaked" not in caught.value.message  # no upstream text for the gateway's own faults


async def test_client_errors_are_not_retried() -> None:
    clock = Clock()
    router, calls = make_router({"a": 1e6, "b": 1e-6}, clock)
    route = router.get("m")
    assert route is not None
    bad = UpstreamStatusError(
        "a answered HTTP 400",
        deployment="a",
        status_code=400,
        detail="bad temperature",
        param="temperature",
    )
    with pytest.raises(InvalidRequestError) as caught:
        await router.call(route, op({"a": bad}, calls), RouteTrace())
    assert caught.value.param == "temperature"
    assert caught.value.message == "bad temperature"
    assert calls == ["a"]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (UpstreamStatusError("x", deployment="a", status_code=500), UpstreamFailedError),
        (UpstreamConnectError("x", deployment="a"), UpstreamFailedError),
        (UpstreamTimeoutError("x", deployment="a"), GatewayTimeoutError),
        (
            UpstreamStatusError("x", deployment="a", status_code=429, retry_after_s=0.2),
            RateLimitError,
        ),
    ],
)
async def test_exhausted_attempts_map_to_the_right_error(
    error: Exception, expected: type[Exception]
) -> None:
    clock = Clock()
    router, calls = make_router({"a": 1}, clock, max_attempts=3)
    route = router.get("m")
    assert route is not None
    with pytest.raises(expected) as caught:
        await router.call(route, op({"a": error}, calls), RouteTrace())
    assert calls == ["a", "a", "a"]
    if expected is RateLimitError:
        assert isinstance(caught.value, RateLimitError)
        assert caught.value.headers == {"Retry-After": "1"}


async def test_a_long_retry_after_is_handed_to_the_client_not_waited_for() -> None:
    clock = Clock()
    router, calls = make_router({"a": 1}, clock, max_attempts=3)
    route = router.get("m")
    assert route is not None
    error = UpstreamStatusError("x", deployment="a", status_code=429, retry_after_s=30)
    with pytest.raises(RateLimitError) as caught:
        await router.call(route, op({"a": error}, calls), RouteTrace())
    assert calls == ["a"]
    assert caught.value.headers["Retry-After"] == "30"


async def test_breaker_opens_then_probes_after_the_cooldown() -> None:
    clock = Clock()
    router, calls = make_router(
        {"a": 1}, clock, max_attempts=1, breaker_failures=2, breaker_cooldown_s=10
    )
    route = router.get("m")
    assert route is not None
    down = {"a": UpstreamConnectError("refused", deployment="a")}
    for _ in range(2):
        with pytest.raises(UpstreamFailedError):
            await router.call(route, op(down, calls), RouteTrace())
    assert route.deployments[0].breaker.state is BreakerState.OPEN
    with pytest.raises(ServiceUnavailableError):  # open: not even tried
        await router.call(route, op(down, calls), RouteTrace())
    assert calls == ["a", "a"]
    clock.now += 10
    state: BreakerState = route.deployments[0].breaker.state
    assert state is BreakerState.HALF_OPEN
    with pytest.raises(UpstreamFailedError):  # the probe fails: open again
        await router.call(route, op(down, calls), RouteTrace())
    assert route.deployments[0].breaker.state is BreakerState.OPEN
    clock.now += 10
    assert await router.call(route, op({}, calls), RouteTrace()) == "a"  # probe succeeds
    final: BreakerState = route.deployments[0].breaker.state
    assert final is BreakerState.CLOSED


async def test_the_deadline_caps_attempts_and_their_timeouts() -> None:
    clock = Clock()
    router, _ = make_router({"a": 1}, clock, max_attempts=10, deadline_s=1.0)
    route = router.get("m")
    assert route is not None
    timeouts: list[float] = []

    async def slow(deployment: Deployment, target: Target) -> str:
        timeouts.append(target.timeout_s)
        clock.now += 0.4
        raise UpstreamTimeoutError("slow", deployment="a")

    with pytest.raises(GatewayTimeoutError):
        await router.call(route, slow, RouteTrace())
    assert timeouts[0] == 1.0  # the deployment's 60 s timeout, capped by the deadline
    assert len(timeouts) < 10
