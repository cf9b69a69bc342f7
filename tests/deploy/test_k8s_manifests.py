"""deploy/k8s renders, per overlay, into objects Kubernetes accepts and that fit together.

Every object is validated offline against the Kubernetes schemas of ``KUBERNETES_VERSION``
(kubernetes-validate, strict: an unknown field is an error); the ServiceMonitor, a Prometheus
Operator CRD those schemas lack, against tests/deploy/servicemonitor.schema.json (a subset
written for these tests). Then what a schema cannot see: probes on the real endpoints,
Services and monitors that select pods and ports that exist, one open port, secrets only by
reference, GPUs only where the GPU overlay puts them.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate  # type: ignore[import-untyped]  # no py.typed
import pytest

from tests.deploy.manifests import KUBERNETES_VERSION, OVERLAYS, containers, named, render

SERVICE_MONITOR_SCHEMA = Path(__file__).with_name("servicemonitor.schema.json")
GPU = "nvidia.com/gpu"
Object = dict[str, Any]


# Ids not "gpu": tests marked (or named) gpu are skipped where no GPU is (tests/conftest.py).
@pytest.fixture(scope="module", params=OVERLAYS, ids=[f"{o}-overlay" for o in OVERLAYS])
def overlay(request: pytest.FixtureRequest) -> tuple[str, list[Object]]:
    name: str = request.param
    return name, render(name)


@pytest.fixture(scope="module")
def monitor_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SERVICE_MONITOR_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _schema_errors(obj: Object, monitors: jsonschema.protocols.Validator) -> list[str]:
    if obj["kind"] == "ServiceMonitor":
        return [f"{list(e.absolute_path)}: {e.message}" for e in monitors.iter_errors(obj)]
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{list(exc.absolute_path)}: {exc.message}"]
    return []


def test_every_object_meets_the_kubernetes_schemas(
    overlay: tuple[str, list[Object]], monitor_validator: jsonschema.protocols.Validator
) -> None:
    _, objects = overlay
    for obj in objects:
        assert _schema_errors(obj, monitor_validator) == [], f"{obj['kind']}/{obj['metadata']}"


def test_the_validation_catches_typos(
    overlay: tuple[str, list[Object]], monitor_validator: jsonschema.protocols.Validator
) -> None:
    _, objects = overlay
    gateway = copy.deepcopy(named(objects, "Deployment")["ragway-gateway"])
    gateway["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    assert _schema_errors(gateway, monitor_validator)
    monitor = copy.deepcopy(named(objects, "ServiceMonitor")["ragway"])
    monitor["spec"]["endpoints"][0]["interval"] = "30 seconds"
    monitor["spec"]["endpoints"][1]["intervall"] = "30s"
    assert len(_schema_errors(monitor, monitor_validator)) == 2


def test_each_overlay_runs_the_whole_stack(overlay: tuple[str, list[Object]]) -> None:
    name, objects = overlay
    deployments = {"ragway-gateway", "ragway-worker"}
    if name == "gpu":
        deployments |= {"ragway-vllm", "ragway-worker-gpu"}
    assert set(named(objects, "Deployment")) == deployments
    assert set(named(objects, "Job")) == {"ragway-migrate"}
    assert set(named(objects, "HorizontalPodAutoscaler")) == {"ragway-gateway"}
    assert set(named(objects, "PodDisruptionBudget")) == {"ragway-gateway"}
    assert set(named(objects, "ServiceMonitor")) == {"ragway"}
    assert {o["metadata"].get("namespace") for o in objects if o["kind"] != "Namespace"} == {
        "ragway"
    }
    job = named(objects, "Job")["ragway-migrate"]["spec"]["template"]["spec"]
    assert [c["command"] for c in job["initContainers"]] == [["ragway", "db", "migrate"]]
    assert [c["command"] for c in job["containers"]] == [["ragway", "keys", "bootstrap"]]


def test_the_gateway_is_probed_scaled_and_kept_available(overlay: tuple[str, list[Object]]) -> None:
    _, objects = overlay
    gateway = named(objects, "Deployment")["ragway-gateway"]
    [container] = gateway["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["ragway", "gateway"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert "replicas" not in gateway["spec"]  # the HPA owns the count
    hpa = named(objects, "HorizontalPodAutoscaler")["ragway-gateway"]["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "ragway-gateway",
    }
    assert 2 <= hpa["minReplicas"] < hpa["maxReplicas"]
    pdb = named(objects, "PodDisruptionBudget")["ragway-gateway"]["spec"]
    assert _selects(pdb["selector"], gateway["spec"]["template"]["metadata"]["labels"])


def test_every_pod_runs_unprivileged_with_bounded_resources(
    overlay: tuple[str, list[Object]],
) -> None:
    _, objects = overlay
    for container in containers(objects):
        pod_security = container.pod["securityContext"]
        assert pod_security["runAsNonRoot"] is True, container.name
        assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}, container.name
        assert container.pod["automountServiceAccountToken"] is False, container.name
        security = container.spec["securityContext"]
        assert security["allowPrivilegeEscalation"] is False, container.name
        assert security["capabilities"] == {"drop": ["ALL"]}, container.name
        # vLLM's kernels are compiled and cached beside the code: its root stays writable.
        if container.labels["app.kubernetes.io/component"] != "vllm":
            assert security["readOnlyRootFilesystem"] is True, container.name
        resources = container.spec["resources"]
        assert {"cpu", "memory"} <= set(resources["requests"]), container.name
        assert "memory" in resources["limits"], container.name
    namespace = named(objects, "Namespace")["ragway"]["metadata"]["labels"]
    assert namespace["pod-security.kubernetes.io/enforce"] == "restricted"


def test_services_and_the_monitor_reach_pods_and_ports(overlay: tuple[str, list[Object]]) -> None:
    _, objects = overlay
    all_containers = list(containers(objects))
    services = named(objects, "Service")
    for name, service in services.items():
        backing = [c for c in all_containers if _service_selects(service, c.labels)]
        assert backing, f"Service {name} selects no pod"
        ports = {p["name"] for c in backing for p in c.spec.get("ports", [])}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports, (name, port)
    monitor = named(objects, "ServiceMonitor")["ragway"]["spec"]
    scraped = [
        s for s in services.values() if _selects(monitor["selector"], s["metadata"]["labels"])
    ]
    endpoint_ports = {e["port"] for e in monitor["endpoints"]}
    for service in scraped:
        assert endpoint_ports & {p["name"] for p in service["spec"]["ports"]}, service
    expected = {"ragway-gateway", "ragway-worker-metrics"}
    if "ragway-vllm" in services:
        expected |= {"ragway-vllm", "ragway-worker-gpu-metrics"}
    assert {s["metadata"]["name"] for s in scraped} == expected
    volumes = [v for c in all_containers for v in c.pod["volumes"]]
    config_maps = named(objects, "ConfigMap")
    for volume in volumes:
        if "configMap" in volume:
            assert volume["configMap"]["name"] in config_maps, volume
        if "persistentVolumeClaim" in volume:
            claim = volume["persistentVolumeClaim"]["claimName"]
            assert claim in named(objects, "PersistentVolumeClaim"), volume


def test_only_the_gateway_is_reachable_from_anywhere(overlay: tuple[str, list[Object]]) -> None:
    _, objects = overlay
    policies = named(objects, "NetworkPolicy")
    deny = policies["ragway-default-deny"]["spec"]
    assert not deny["podSelector"].get("matchExpressions")
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny
    pods = {c.owner["metadata"]["name"]: c.labels for c in containers(objects)}
    for name, policy in policies.items():
        for rule in policy["spec"].get("ingress", []):
            if rule.get("from"):
                continue
            opened = {
                pod
                for pod, labels in pods.items()
                if _selects(policy["spec"]["podSelector"], labels)
            }
            assert opened == {"ragway-gateway"}, (name, opened)
            assert rule["ports"] == [{"protocol": "TCP", "port": 8080}]


def test_secrets_are_only_referenced(overlay: tuple[str, list[Object]]) -> None:
    _, objects = overlay
    assert not named(objects, "Secret")
    secret_like = re.compile(r"URL|KEY|PASSWORD|SECRET|TOKEN")
    for container in containers(objects):
        for name, entry in container.env().items():
            reference = entry.get("valueFrom", {}).get("secretKeyRef")
            if secret_like.search(name) and name != "RAGWAY_CONFIG":
                assert reference is not None, (container.name, name)
                assert "value" not in entry, (container.name, name)
            if reference is not None:
                assert reference["name"] == "ragway-secrets", (container.name, name)
                assert reference["key"] == name, (container.name, name)
    for config_map in named(objects, "ConfigMap").values():
        text = json.dumps(config_map.get("data", {}))
        assert not re.search(r"(postgres(ql)?|redis|amqp)://[^\s\"]*:[^\s\"]*@", text)


def test_gpus_only_where_the_gpu_overlay_puts_them(overlay: tuple[str, list[Object]]) -> None:
    name, objects = overlay
    on_gpu = set()
    for container in containers(objects):
        resources = container.spec["resources"]
        if GPU not in resources.get("limits", {}):
            assert GPU not in resources.get("requests", {}), container.name
            continue
        on_gpu.add(container.owner["metadata"]["name"])
        assert resources["requests"][GPU] == resources["limits"][GPU], container.name
        assert container.pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
        assert {"key": GPU, "operator": "Exists", "effect": "NoSchedule"} in container.pod[
            "tolerations"
        ]
        assert container.owner["spec"]["strategy"]["type"] == "Recreate"
    assert on_gpu == ({"ragway-vllm", "ragway-worker-gpu"} if name == "gpu" else set())
    if name == "gpu":
        vllm = named(objects, "Deployment")["ragway-vllm"]["spec"]["template"]["spec"]
        mounts = {m["mountPath"]: m for m in vllm["containers"][0]["volumeMounts"]}
        assert mounts["/models"]["readOnly"] is True
        volumes = {v["name"]: v for v in vllm["volumes"]}
        assert volumes["shm"]["emptyDir"]["medium"] == "Memory"


def test_images_come_from_a_registry_with_a_pinned_tag(overlay: tuple[str, list[Object]]) -> None:
    _, objects = overlay
    for container in containers(objects):
        image = container.spec["image"]
        registry, _, rest = image.partition("/")
        assert "." in registry, (container.name, image)
        tag = rest.rpartition(":")[2] if ":" in rest else ""
        assert tag not in ("", "latest"), (container.name, image)


def _selects(selector: Object, labels: dict[str, str]) -> bool:
    """Whether a LabelSelector matches ``labels`` (an empty one matches every pod)."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        value = labels.get(expression["key"])
        operator = expression["operator"]
        if operator == "In" and value not in expression["values"]:
            return False
        if operator == "NotIn" and value in expression["values"]:
            return False
        if operator == "Exists" and value is None:
            return False
        if operator == "DoesNotExist" and value is not None:
            return False
    return True


def _service_selects(service: Object, labels: dict[str, str]) -> bool:
    """Whether a Service's selector (a plain map; a Service without one selects nothing)
    matches a pod's labels."""
    selector: dict[str, str] = service["spec"].get("selector", {})
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())
