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
    assert set(services) == {"postgres", "redis", "vllm", "gateway", "worker", "prometheus"}
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
