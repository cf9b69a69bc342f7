"""The Grafana dashboard and the Prometheus alert rules in configs/docker: every metric they
query is one a real gateway or worker exposes, and every alert fires (and stays quiet) as its
``promtool test rules`` unit tests say."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.observability.conftest import Stack, exposed_names, scrape

DOCKER = Path(__file__).resolve().parents[2] / "configs" / "docker"
DASHBOARD = DOCKER / "grafana" / "dashboards" / "ragway.json"
RULES = DOCKER / "prometheus" / "rules.yml"
RULE_TESTS = DOCKER / "prometheus" / "rules.test.yml"
_OURS = re.compile(r"\bragway_[a-z0-9_]+\b")


def dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]


def alert_rules() -> list[dict[str, str]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


@pytest.fixture(scope="module")
def exposed(stack: Stack) -> set[str]:
    """What a gateway (one that served a request) and a worker expose right now."""
    return exposed_names(scrape(f"{stack.gateway}/metrics").text) | exposed_names(
        scrape(stack.worker_metrics).text
    )


def test_the_dashboard_queries_only_metrics_that_exist(exposed: set[str]) -> None:
    queries = dashboard_queries()
    assert len(queries) >= 25
    used = {name for query in queries for name in _OURS.findall(query)}
    for query in queries:
        assert _OURS.search(query), query  # every panel shows something of ours
    assert used - exposed == set()
    # what ops ask for first is on it
    for name in (
        "ragway_requests_total",
        "ragway_request_duration_seconds_bucket",
        "ragway_upstream_errors_total",
        "ragway_tokens_total",
        "ragway_spend_usd_total",
        "ragway_quota_decisions_total",
        "ragway_pii_entities_total",
        "ragway_circuit_breaker_state",
        "ragway_ingestion_queue_depth",
        "ragway_ingestion_files_processed_total",
        "ragway_ingestion_chunks_embedded_total",
        "ragway_ingestion_failures_total",
        "ragway_search_duration_seconds_bucket",
        "ragway_outbox_depth",
        "ragway_outbox_oldest_seconds",
    ):
        assert name in used, name


def test_the_alerts_query_only_metrics_that_exist(exposed: set[str]) -> None:
    used = {name for rule in alert_rules() for name in _OURS.findall(rule["expr"])}
    assert used - exposed == set()


def test_every_alert_has_unit_tests() -> None:
    tested = {
        case["alertname"]
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert {rule["alert"] for rule in alert_rules()} == tested


def test_promtool_checks_and_unit_tests_pass() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail(
            "promtool is missing: it comes from Debian's prometheus package "
            "(`make promtool` installs it; `make test` does so first)"
        )
    for args in (["check", "rules", str(RULES)], ["test", "rules", str(RULE_TESTS)]):
        result = subprocess.run([promtool, *args], capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
