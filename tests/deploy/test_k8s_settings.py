"""Every setting deploy/k8s passes to a ragway process exists in the typed config.

Each container is given what the cluster would give it: the rendered ConfigMap's files at
their mount path, its plain environment, and a stand-in for each secret it references. Its
settings then load through the real loader (configs.load_settings), where an unknown key in a
file or an unknown ``RAGWAY_`` variable is an error; its command line parses with the real
``ragway`` CLI; secret names are ones ragway (or boto3) reads; ports agree with the config.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from configs import Settings, SettingsError, load_settings
from gateway.entry.cli import main as ragway_cli
from inference.manifest import load_manifest
from inference.vllm import choose_model, vllm_command
from tests.deploy.manifests import OVERLAYS, REPO, Container, containers, named, render

Object = dict[str, Any]
# Secrets ragway reads from the environment (configs/_loader.py), and boto3's own.
RAGWAY_SECRETS = {"DATABASE_URL", "DATABASE_READ_URL", "REDIS_URL", "RAGWAY_ADMIN_KEY"}
AWS_SECRETS = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
STAND_INS = {
    "DATABASE_URL": "postgresql://ragway:x@postgres:5432/ragway",
    "DATABASE_READ_URL": "postgresql://ragway:x@postgres-replica:5432/ragway",
    "REDIS_URL": "redis://:x@redis:6379/0",
    "RAGWAY_ADMIN_KEY": "rgw-" + "k" * 60,
}
VLLM_FLAGS = {"--model", "--config"}  # python -m inference.vllm's options


@pytest.fixture(scope="module", params=OVERLAYS, ids=[f"{o}-overlay" for o in OVERLAYS])
def overlay(request: pytest.FixtureRequest) -> tuple[str, list[Object]]:
    name: str = request.param
    return name, render(name)


def settings_of(container: Container, objects: list[Object], root: Path) -> Settings:
    """The container's settings, loaded as its process would load them."""
    env: dict[str, str] = {}
    for name, entry in container.env().items():
        if "value" in entry:
            env[name] = entry["value"]
        else:
            env[name] = STAND_INS.get(name, "stand-in-secret")
    mounts = {m["name"]: m["mountPath"] for m in container.spec.get("volumeMounts", [])}
    for volume in container.pod["volumes"]:
        if "configMap" not in volume or volume["name"] not in mounts:
            continue
        config_map = named(objects, "ConfigMap")[volume["configMap"]["name"]]
        folder = root / mounts[volume["name"]].lstrip("/")
        folder.mkdir(parents=True, exist_ok=True)
        for filename, text in config_map["data"].items():
            (folder / filename).write_text(text, encoding="utf-8")
    paths = env["RAGWAY_CONFIG"].split(":")
    env["RAGWAY_CONFIG"] = ":".join(str(root / p.lstrip("/")) for p in paths)
    for path in env["RAGWAY_CONFIG"].split(":"):
        assert Path(path).is_file(), f"{container.name}: RAGWAY_CONFIG names {path}, not mounted"
    return load_settings(env=env)


def test_every_process_loads_its_settings(
    overlay: tuple[str, list[Object]], tmp_path: Path
) -> None:
    _, objects = overlay
    consumed: set[str] = set()
    for index, container in enumerate(containers(objects)):
        settings = settings_of(container, objects, tmp_path / str(index))
        component = container.labels["app.kubernetes.io/component"]
        ports = {p["name"]: p["containerPort"] for p in container.spec.get("ports", [])}
        if component == "gateway":
            assert settings.gateway.host == "0.0.0.0"
            assert ports["http"] == settings.gateway.port
            assert settings.gateway.workers == 1  # one process per pod: the HPA scales pods
        if component.startswith("worker"):
            assert settings.ingestion.metrics_host == "0.0.0.0"
            assert ports["metrics"] == settings.ingestion.metrics_port
            consumed |= set(settings.worker.queues)
        if component == "vllm":
            assert settings.inference.vllm.host == "0.0.0.0"
            assert ports["http"] == settings.inference.vllm.port
        assert settings.database.migrate_on_start is False  # the Job migrates
        assert settings.ingestion.storage.kind == "s3"  # every pod reads the same bytes
    # Some worker consumes every queue ragway uses (the GPU overlay splits them).
    assert consumed >= set(load_settings(config_files=[], env={}).worker.queues)


def test_secret_names_are_ones_ragway_reads(
    overlay: tuple[str, list[Object]], tmp_path: Path
) -> None:
    _, objects = overlay
    for index, container in enumerate(containers(objects)):
        if container.labels["app.kubernetes.io/component"] == "vllm":
            assert not [e for e in container.env().values() if "valueFrom" in e]
            continue
        settings = settings_of(container, objects, tmp_path / str(index))
        provider_keys = {
            d.api_key_env
            for model in settings.providers.models.values()
            for d in model.deployments
            if d.api_key_env
        }
        secrets = {n for n, e in container.env().items() if "valueFrom" in e}
        assert secrets <= RAGWAY_SECRETS | AWS_SECRETS | provider_keys, container.name
        plain = {n for n, e in container.env().items() if "value" in e}
        assert {n for n in plain if not n.startswith("RAGWAY_")} <= {"HOME"}, container.name
        if container.spec["command"][1] in ("gateway", "worker"):
            assert {"DATABASE_URL", "REDIS_URL"} <= secrets, container.name
            if container.labels["app.kubernetes.io/component"] != "worker-gpu":  # ingests only
                assert provider_keys <= secrets, container.name


def test_command_lines_parse_with_the_real_cli(
    overlay: tuple[str, list[Object]], tmp_path: Path
) -> None:
    _, objects = overlay
    for index, container in enumerate(containers(objects)):
        if "command" in container.spec:
            command = container.spec["command"]
            assert command[0] == "ragway", container.name
            _parse(command[1:] + container.spec.get("args", []))
            continue
        # vLLM's image: ENTRYPOINT python -m inference.vllm, args from the Deployment
        args = container.spec["args"]
        assert set(args[::2]) <= VLLM_FLAGS, container.name
        settings = settings_of(container, objects, tmp_path / str(index))
        manifest = load_manifest(REPO / "models" / "manifest.yaml", check_files=False)
        entry = choose_model(manifest, args[args.index("--model") + 1])
        argv = vllm_command(manifest, entry, settings.inference.vllm)
        assert argv[argv.index("--host") + 1] == "0.0.0.0"
        assert argv[argv.index("--port") + 1] == str(settings.inference.vllm.port)
        [deployment] = settings.providers.models[entry.name].deployments
        service = named(objects, "Service")["ragway-vllm"]["spec"]["ports"][0]["port"]
        assert deployment.base_url == f"http://ragway-vllm:{service}/v1"


def test_a_misspelled_setting_is_refused(overlay: tuple[str, list[Object]], tmp_path: Path) -> None:
    """The checks above would catch a typo: an unknown key in the ConfigMap's YAML, or an
    unknown RAGWAY_ variable, stops the process at start."""
    _, objects = overlay
    gateway = next(c for c in containers(objects) if c.spec["name"] == "gateway")
    broken = copy.deepcopy(objects)
    [config_map] = [o for o in broken if o["kind"] == "ConfigMap"]
    settings = yaml.safe_load(config_map["data"]["ragway.yaml"])
    settings["gateway"]["prot"] = 8080
    config_map["data"]["ragway.yaml"] = yaml.safe_dump(settings)
    with pytest.raises(SettingsError, match="prot"):
        settings_of(gateway, broken, tmp_path / "file")
    typo = copy.deepcopy(gateway.spec)
    typo["env"].append({"name": "RAGWAY_WORKER__THREDS", "value": "4"})
    with pytest.raises(SettingsError, match="threds"):
        settings_of(Container(gateway.owner, gateway.pod, gateway.labels, typo), objects, tmp_path)
    with pytest.raises(click.UsageError):
        _parse(["gateway", "--wokers", "2"])


def _parse(args: list[str]) -> None:
    """Parse ``ragway <args>`` as the CLI would, without running the command."""
    command: click.Command = ragway_cli
    context = click.Context(ragway_cli, info_name="ragway")
    while isinstance(command, click.Group):
        name, *args = args
        found = command.get_command(context, name)
        if found is None:
            raise click.UsageError(f"no command {name!r} in {context.command_path}")
        command = found
        context = click.Context(command, info_name=name, parent=context)
    command.make_context(context.info_name, args, parent=context.parent)
