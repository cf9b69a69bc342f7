"""deploy/k8s as the cluster would get it: each overlay rendered by ``kubectl kustomize``.

``make test`` installs kubectl (Debian's ``kubernetes-client`` where none is installed: its
kustomize is v2.0, which the manifests are written for; newer ones read them too).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "K8S",
    "KUBERNETES_VERSION",
    "OVERLAYS",
    "REPO",
    "Container",
    "containers",
    "named",
    "render",
]

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
OVERLAYS = ("cpu", "gpu")
# The Kubernetes release whose schemas (kubernetes-validate's, bundled) every object must meet.
KUBERNETES_VERSION = "1.32.0"

Object = dict[str, Any]


@dataclass(frozen=True)
class Container:
    """One container (or init container) of a workload, with its pod's spec and labels."""

    owner: Object  # the Deployment or Job
    pod: Object  # its spec.template.spec
    labels: dict[str, str]  # its pods' labels
    spec: Object  # the container

    @property
    def name(self) -> str:
        return f"{self.owner['metadata']['name']}/{self.spec['name']}"

    def env(self) -> dict[str, Object]:
        return {entry["name"]: entry for entry in self.spec.get("env", [])}


def render(overlay: str) -> list[Object]:
    """The objects ``kubectl kustomize deploy/k8s/overlays/<overlay>`` prints."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise RuntimeError(
            "kubectl is not installed: `make test` installs Debian's kubernetes-client"
        )
    done = subprocess.run(
        [kubectl, "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"kubectl kustomize {overlay} failed:\n{done.stderr}")
    return [document for document in yaml.safe_load_all(done.stdout) if document]


def named(objects: list[Object], kind: str) -> dict[str, Object]:
    """The objects of ``kind``, by name."""
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def containers(objects: list[Object]) -> Iterator[Container]:
    """Every container and init container of every Deployment and Job."""
    for owner in objects:
        if owner["kind"] not in ("Deployment", "Job"):
            continue
        template = owner["spec"]["template"]
        pod = template["spec"]
        labels = template["metadata"].get("labels", {})
        for spec in [*pod.get("initContainers", []), *pod["containers"]]:
            yield Container(owner=owner, pod=pod, labels=labels, spec=spec)
