"""docker-compose.gpu.yml is a valid Compose file and its parts agree with each other.

Validated against the Compose Specification's JSON schema (vendored in the check-jsonschema
package), so no Docker engine is needed. The Prometheus config is checked with promtool
where it is installed, and the stack's ragway config with the real settings loader.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from configs import load_settings
from inference.manifest import load_manifest
from inference.vllm import choose_model, vllm_command

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.gpu.yml"
DOCKER = REPO / "configs" / "docker"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    source = files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(source.read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def errors(validator: jsonschema.protocols.Validator, document: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def test_compose_file_follows_the_compose_specification(
    compose: dict[str, Any], validator: jsonschema.protocols.Validator
) -> None:
    assert errors(validator, compose) == []
    broken = copy.deepcopy(compose)
    broken["services"]["worker"]["deploy"]["replica"] = 2  # a typo the schema must catch
    broken["services"]["gateway"]["healthcheck"]["interval"] = 10  # must be a duration string
    found = errors(validator, broken)
    assert any("'replica' does not match" in e for e in found), found
    assert any("10 is not of type 'string'" in e for e in found), found


def test_services_are_the_production_stack(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {
        "postgres",
        "redis",
        "vllm",
        "gateway",
        "worker",
        "prometheus",
        "otel-collector",
        "jaeger",
        "grafana",
    }
    assert services["postgres"]["image"].startswith("pgvector/pgvector:")
    vllm = services["vllm"]
    [device] = vllm["deploy"]["resources"]["reservations"]["devices"]
    assert device["capabilities"] == ["gpu"]
    assert "./models:/models:ro" in vllm["volumes"]
    assert "/health" in " ".join(vllm["healthcheck"]["test"])
    assert services["worker"]["deploy"]["replicas"] >= 2
    for name in ("gateway", "worker"):
        assert "uploads:/data" in services[name]["volumes"]
        assert services[name]["env_file"] == [{"path": ".env", "required": True}]
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for service in services.values():
        if "build" in service:
            assert (REPO / service["build"]["context"] / service["build"]["dockerfile"]).is_file()


def test_every_variable_is_in_the_env_example(compose: dict[str, Any]) -> None:
    example = (DOCKER / "env.example").read_text()
    defined = set(re.findall(r"(?m)^([A-Z_]+)=", example))
    used = re.findall(r"\$\{([A-Z_]+)(:?[-?][^}]*)?\}", COMPOSE.read_text())
    required = {name for name, default in used if not default.startswith((":-", "-"))}
    assert required <= defined, required - defined
    assert ".env" in (REPO / ".gitignore").read_text().splitlines()


def test_stack_config_loads_and_points_at_the_services(compose: dict[str, Any]) -> None:
    env = {
        **compose["x-app"]["environment"],
        "DATABASE_URL": "postgresql://ragway:x@postgres:5432/ragway",
        "REDIS_URL": "redis://:x@redis:6379/0",
        "RAGWAY_CONFIG": str(DOCKER / "ragway.yaml"),
    }
    settings = load_settings(env=env)
    assert settings.gateway.workers >= 2
    assert settings.gateway.host == "0.0.0.0"
    [local] = settings.providers.models["qwen2.5-7b-instruct"].deployments
    assert local.trust == "local"
    assert local.base_url == f"http://vllm:{settings.inference.vllm.port}/v1"
    # the vllm service serves the committed manifest with these settings
    manifest = load_manifest(REPO / "models" / "manifest.yaml", check_files=False)
    entry = choose_model(manifest, local.model)
    argv = vllm_command(manifest, entry, settings.inference.vllm)
    assert argv[argv.index("--host") + 1] == "0.0.0.0"
    assert argv[argv.index("--served-model-name") + 1] == local.model


def test_prometheus_scrapes_gateway_workers_and_vllm(compose: dict[str, Any]) -> None:
    config = yaml.safe_load((DOCKER / "prometheus.yml").read_text())
    targets: dict[str, set[str]] = {}
    for job in config["scrape_configs"]:
        found = {t for c in job.get("static_configs", []) for t in c["targets"]}
        found |= {f"{n}:{c['port']}" for c in job.get("dns_sd_configs", []) for n in c["names"]}
        targets[job["job_name"]] = found
    settings = load_settings(config_files=[DOCKER / "ragway.yaml"], env={})
    assert targets == {
        "gateway": {f"gateway:{settings.gateway.port}"},
        "worker": {f"worker:{settings.ingestion.metrics_port}"},
        "vllm": {f"vllm:{settings.inference.vllm.port}"},
    }
    mounted = "./configs/docker/prometheus.yml:/etc/prometheus/prometheus.yml:ro"
    assert mounted in compose["services"]["prometheus"]["volumes"]
    promtool = shutil.which("promtool")
    if promtool is not None:
        result = subprocess.run(
            [promtool, "check", "config", str(DOCKER / "prometheus.yml")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_every_image_is_pinned(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if "build" in service:
            continue
        image = service["image"]
        tag = image.rsplit(":", 1)[1] if ":" in image else ""
        assert tag not in ("", "latest"), (name, image)
        assert re.search(r"\d", tag), (name, image)


def test_traces_go_through_the_collector_to_jaeger(compose: dict[str, Any]) -> None:
    services = compose["services"]
    endpoint = compose["x-app"]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"]
    assert endpoint == "http://otel-collector:4318"
    for name in ("gateway", "worker"):  # both get the shared environment
        assert services[name]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == endpoint
    settings = load_settings(
        config_files=[DOCKER / "ragway.yaml"], env={"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}
    )
    assert settings.tracing.spans_url() == f"{endpoint}/v1/traces"
    collector = services["otel-collector"]
    assert collector["image"].startswith("otel/opentelemetry-collector-contrib:")
    config = yaml.safe_load((DOCKER / "otel-collector.yaml").read_text())
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    [traces] = [config["service"]["pipelines"]["traces"]]
    [exporter] = traces["exporters"]
    assert config["exporters"][exporter]["endpoint"] == "jaeger:4317"
    for mount in collector["volumes"]:
        assert (REPO / mount.split(":")[0]).is_file(), mount
    assert services["jaeger"]["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"


def test_grafana_is_provisioned_with_both_datasources_and_the_dashboard(
    compose: dict[str, Any],
) -> None:
    grafana = compose["services"]["grafana"]
    mounts = {
        target: source
        for source, target, _mode in (m.split(":") for m in grafana["volumes"] if "./" in m)
    }
    provisioning = REPO / mounts["/etc/grafana/provisioning"]
    dashboards = REPO / mounts["/etc/grafana/dashboards"]
    sources = yaml.safe_load((provisioning / "datasources" / "ragway.yaml").read_text())
    by_uid = {source["uid"]: source for source in sources["datasources"]}
    assert by_uid["prometheus"]["url"] == "http://prometheus:9090"
    assert by_uid["jaeger"]["url"] == "http://jaeger:16686"
    [link] = by_uid["prometheus"]["jsonData"]["exemplarTraceIdDestinations"]
    assert link == {"name": "trace_id", "datasourceUid": "jaeger"}
    [provider] = yaml.safe_load((provisioning / "dashboards" / "ragway.yaml").read_text())[
        "providers"
    ]
    assert provider["options"]["path"] == "/etc/grafana/dashboards"
    dashboard = json.loads((dashboards / "ragway.json").read_text())
    used = {t["datasource"]["uid"] for p in dashboard["panels"] for t in p.get("targets", [])}
    assert used == {"prometheus"}
    prometheus = compose["services"]["prometheus"]
    assert "--enable-feature=exemplar-storage" in prometheus["command"]
    rules = "./configs/docker/prometheus/rules.yml:/etc/prometheus/prometheus/rules.yml:ro"
    assert rules in prometheus["volumes"]
    assert yaml.safe_load((DOCKER / "prometheus.yml").read_text())["rule_files"] == [
        "prometheus/rules.yml"
    ]
