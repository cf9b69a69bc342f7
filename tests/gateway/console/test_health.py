"""The MODELS & HEALTH page: aliases, deployments and breakers, recent traffic from the
process's own metrics, and the readiness of Postgres, Redis, the workers and the queue."""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import cast

import openai
import pytest
from playwright.sync_api import Browser, Page, expect
from redis.asyncio import Redis

from configs import Settings
from gateway.api.console._health_report import HealthReport, models
from gateway.api.console._metrics_window import MetricsWindow, quantile
from gateway.api.console._services import ConsoleServices
from gateway.api.health import CheckResult
from gateway.entry.app import create_app
from tests.gateway.console.conftest import ConsoleKeys, Shot, api_client, http_session, sign_in
from tests.support.net import free_port
from tests.support.servers import ServerThread

HELLO = [{"role": "user", "content": "hello"}]


def _exposition(*, ok: int, failed: int, fast: int, slow: int, upstream: int, breaker: int) -> str:
    """A synthetic exposition: ``fast`` requests under 0.1 s, ``slow`` between 1 and 2.5 s."""
    total = fast + slow
    return f"""# TYPE ragway_requests_total counter
ragway_requests_total{{route="chat",model="chat",status="200"}} {ok}
ragway_requests_total{{route="completions",model="chat",status="502"}} {failed}
ragway_requests_total{{route="chat",model="other",status="200"}} 7
# TYPE ragway_request_duration_seconds histogram
ragway_request_duration_seconds_bucket{{route="chat",model="chat",le="0.1"}} {fast}
ragway_request_duration_seconds_bucket{{route="chat",model="chat",le="1.0"}} {fast}
ragway_request_duration_seconds_bucket{{route="chat",model="chat",le="2.5"}} {total}
ragway_request_duration_seconds_bucket{{route="chat",model="chat",le="+Inf"}} {total}
ragway_request_duration_seconds_count{{route="chat",model="chat"}} {total}
ragway_request_duration_seconds_sum{{route="chat",model="chat"}} 1.0
# TYPE ragway_upstream_errors_total counter
ragway_upstream_errors_total{{deployment="chat-a",kind="connect"}} {upstream}
ragway_upstream_errors_total{{deployment="chat-a",kind="5xx"}} 1
# TYPE ragway_circuit_breaker_state gauge
ragway_circuit_breaker_state{{deployment="chat-a"}} {breaker}
"""


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_window_reports_totals_first_then_deltas_against_its_oldest_snapshot() -> None:
    clock = Clock()
    window = MetricsWindow(every_s=10, keep_s=600, window_s=300, clock=clock)
    first = window.observe(_exposition(ok=10, failed=2, fast=12, slow=0, upstream=3, breaker=0))
    assert first.seconds is None  # since start: the totals
    assert first.traffic("chat").requests == 12
    assert first.traffic("chat").errors == 2
    assert first.upstream_errors == {"chat-a": 4}
    assert first.per_minute(12) is None

    clock.now += 5  # too soon for a second snapshot, but the first is the baseline
    soon = window.observe(_exposition(ok=14, failed=2, fast=16, slow=0, upstream=3, breaker=0))
    assert soon.seconds == 5
    assert soon.traffic("chat").requests == 4

    clock.now += 55  # 60 s after the first: 80 more requests, 20 of them failed and slow
    later = window.observe(_exposition(ok=70, failed=22, fast=72, slow=20, upstream=13, breaker=1))
    assert later.seconds == 60
    chat = later.traffic("chat")
    assert (chat.requests, chat.errors, chat.error_rate) == (80, 20, 0.25)
    assert later.per_minute(chat.requests) == 80
    assert later.traffic("other").requests == 0  # unchanged since the baseline
    assert later.upstream_errors == {"chat-a": 10}
    assert later.breakers == {"chat-a": 1}  # a gauge: its value now, not a delta
    assert chat.p50_s is not None
    assert chat.p50_s <= 0.1
    assert chat.p95_s is not None
    assert 1.0 < chat.p95_s <= 2.5
    assert later.traffic("missing").requests == 0

    clock.now += 300  # the first snapshot left the 5-minute window: the second is the base
    moved = window.observe(_exposition(ok=70, failed=22, fast=72, slow=20, upstream=13, breaker=0))
    assert moved.seconds == 300
    assert moved.traffic("chat").requests == 0
    assert moved.traffic("chat").p50_s is None  # nothing new: no latency to report


def test_quantiles_interpolate_within_buckets_like_prometheus() -> None:
    buckets = {0.1: 50.0, 0.5: 90.0, 1.0: 100.0, float("inf"): 100.0}
    assert quantile(0.5, buckets) == pytest.approx(0.1)
    assert quantile(0.7, buckets) == pytest.approx(0.3)
    assert quantile(0.95, buckets) == pytest.approx(0.75)
    assert quantile(0.99, {0.5: 10.0, float("inf"): 20.0}) == 0.5  # in +Inf: the last bound
    assert quantile(0.5, {0.1: 0.0, float("inf"): 0.0}) is None


def test_a_deployment_shows_its_host_only(console_settings: Settings) -> None:
    deployment = {
        "name": "creds-a",
        "provider": "openai",
        "model": "m",
        "base_url": "https://user:s3cret@llm.example.com:8443/v1?token=abc",
    }
    providers = console_settings.providers.model_validate(
        {"models": {"creds": {"deployments": [deployment]}}}
    )
    settings = console_settings.model_copy(update={"providers": providers})
    recent = MetricsWindow().observe("")
    (view,) = models(settings, recent)
    assert view.deployments[0].host == "llm.example.com:8443"
    assert view.deployments[0].breaker == "closed"
    assert "s3cret" not in repr(view)
    assert "token" not in repr(view)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers (a frozen service)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield server.getsockname()[1]
    server.close()


def test_the_report_answers_in_time_when_redis_and_postgres_do_not(silent_port: int) -> None:
    # Playwright's sync API runs an event loop in this thread: the coroutine gets its own
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, _report_in_time(silent_port)).result()


async def _report_in_time(silent_port: int) -> None:
    class FrozenQueue:
        def depth(self) -> int:
            time.sleep(3)
            return 0

        def dead_letters(self) -> int:
            return 0

        def workers(self) -> int:
            time.sleep(3)
            return 0

    class Probe:
        async def probe(self) -> list[CheckResult]:
            return [CheckResult("postgres", False, 1000.0, "no answer within 1s")]

    class DeadPool:
        def connection(self, timeout: float) -> object:
            raise OSError("connection refused")

    frozen_redis = Redis(port=silent_port)
    services = SimpleNamespace(
        settings=SimpleNamespace(worker=SimpleNamespace(heartbeat_timeout_s=60, namespace="x")),
        readiness=Probe(),
        queue=FrozenQueue(),
        redis=frozen_redis,
        pool=DeadPool(),
    )
    report = HealthReport(cast(ConsoleServices, services), timeout_s=0.5)
    started = time.monotonic()
    ready = await report.readiness()
    assert time.monotonic() - started < 2
    assert (ready.workers, ready.queue_depth, ready.throughput) == (None, None, None)
    assert ready.errors["workers"] == "no answer within 0.5s"
    assert ready.errors["queue"] == "no answer within 0.5s"
    assert ready.errors["throughput"] == "OSError: connection refused"
    await frozen_redis.aclose()
    await asyncio.sleep(0)


def _requests_of(page: Page, alias: str) -> int:
    cell = page.locator(f'#models tr[data-alias="{alias}"] td.requests')
    return int(cell.inner_text().replace(",", ""))


def _reload_until(page: Page, done: Callable[[], bool], *, timeout_s: float = 15) -> None:
    """Reload the page until ``done()`` (metrics and presence change outside the page)."""
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, "the page never showed the change"
        page.wait_for_timeout(250)
        page.reload()


def test_the_health_page_shows_models_readiness_and_recent_traffic(
    page: Page,
    console_url: str,
    console_keys: ConsoleKeys,
    console_worker: subprocess.Popen[bytes],
    shot: Shot,
) -> None:
    sign_in(page, console_keys.admin)
    nav = page.get_by_role("navigation", name="Console sections")
    nav.get_by_role("link", name="Models & health").click()
    expect(page.get_by_role("heading", name="Models & health")).to_be_visible()
    deployment = page.locator('#deployments tr[data-deployment="chat-fake"]')
    expect(deployment).to_contain_text("chat")
    expect(deployment).to_contain_text("gpt-test")
    expect(deployment).to_contain_text("127.0.0.1")
    expect(deployment.locator(".badge")).to_have_text("closed")
    expect(page.locator('[data-part="postgres"]')).to_contain_text("ready")
    expect(page.locator('[data-part="redis"]')).to_contain_text("ready")
    expect(page.locator("#queue-depth")).to_have_text(re.compile(r"^\d+$"))
    expect(page.locator("#throughput")).to_contain_text("Files in progress")
    workers = page.locator("#workers-alive")

    def alive() -> bool:
        return workers.count() == 1 and workers.inner_text() not in ("", "0")

    _reload_until(page, alive, timeout_s=60)  # the worker's first sweep follows its start

    client = api_client(console_url, console_keys.admin.secret)
    for _ in range(3):
        client.chat.completions.create(model="chat", messages=HELLO)  # type: ignore[arg-type]
    _reload_until(page, lambda: _requests_of(page, "chat") >= 3)
    # "since start" until the window holds a snapshot 10 s older (its unit tests cover that)
    expect(page.locator("#traffic-window")).to_have_text(re.compile(r"since start|last \d"))
    shown = _requests_of(page, "chat")
    for _ in range(2):
        client.chat.completions.create(model="chat", messages=HELLO)  # type: ignore[arg-type]
    window = page.locator("#traffic-window")

    def counted() -> bool:
        # "since start" shows totals; once a baseline snapshot exists (10 s on), the window
        # shows what came after it, which these two requests did
        since_start = "since start" in window.inner_text()
        return _requests_of(page, "chat") >= (shown + 2 if since_start else 2)

    _reload_until(page, counted)
    expect(page.locator('#models tr[data-alias="chat"]')).to_contain_text("ms")  # latency
    assert "sk-upstream" not in page.content()
    shot(page, "health")


def test_the_live_part_refreshes_itself(
    page: Page, console_url: str, console_keys: ConsoleKeys
) -> None:
    sign_in(page, console_keys.admin)
    page.goto("/console/health")
    with page.expect_response(re.compile(r"/console/health/live$"), timeout=20_000) as live:
        pass
    assert live.value.status == 200
    expect(page.locator("#health-live")).to_have_count(1)  # swapped in place, not nested


def test_an_open_breaker_shows_on_the_page(
    browser: Browser,
    console_settings: Settings,
    console_env: dict[str, str],
    console_keys: ConsoleKeys,
    database_url: str,
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    providers = console_settings.providers.model_validate(
        {
            "models": {
                "flaky": {
                    "deployments": [
                        {"name": "flaky-down", "provider": "openai", "model": "m", "base_url": dead}
                    ]
                }
            },
            "routing": {"max_attempts": 1, "breaker_failures": 2, "breaker_cooldown_s": 60},
        }
    )
    settings = console_settings.model_copy(update={"providers": providers})
    redis_url = console_env["REDIS_URL"]
    app = create_app(settings, database_url=database_url, redis_url=redis_url, env=console_env)
    with ServerThread(app) as server:
        client = api_client(server.base_url, console_keys.admin.secret)
        for _ in range(3):
            with pytest.raises(openai.APIStatusError):
                client.chat.completions.create(model="flaky", messages=HELLO)  # type: ignore[arg-type]
        context = browser.new_context(base_url=server.base_url)
        try:
            page = context.new_page()
            sign_in(page, console_keys.admin)
            page.goto("/console/health")
            row = page.locator('#deployments tr[data-deployment="flaky-down"]')
            expect(row.locator(".badge")).to_have_text("open")
            expect(row.locator("td.num").last).to_have_text(re.compile(r"^[1-9]"))
            expect(page.locator('#models tr[data-alias="flaky"]')).to_contain_text("%")
        finally:
            context.close()


def test_a_member_may_not_see_health(
    page: Page, console_url: str, console_keys: ConsoleKeys
) -> None:
    member = http_session(console_url, console_keys.member.secret)
    try:
        assert member.get("/console/health").status_code == 403
        assert member.get("/console/health/live").status_code == 403
    finally:
        member.close()
    sign_in(page, console_keys.member)
    nav = page.get_by_role("navigation", name="Console sections")
    expect(nav.get_by_role("link", name="Models & health")).to_have_count(0)
    response = page.goto("/console/health")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_text("admin keys only")).to_be_visible()
