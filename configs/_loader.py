"""Load settings once: packaged defaults, then config files, then the environment.

Every leaf value remembers where it came from, so a bad or unknown key is reported
with the file (or environment variable) that set it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from configs._describe import Path_, describe
from configs._models import Settings

__all__ = ["DEFAULT_CONFIG", "SettingsError", "load_settings"]

DEFAULT_CONFIG = Path(__file__).with_name("default.yaml")
ENV_PREFIX = "RAGWAY_"
CONFIG_ENV = "RAGWAY_CONFIG"

# Values that may carry credentials: accepted from the environment only.
_SECRET_ENV: dict[tuple[str, ...], str] = {
    ("database", "url"): "DATABASE_URL",
    ("database", "read_url"): "DATABASE_READ_URL",
    ("redis", "url"): "REDIS_URL",
    ("redis", "password"): "REDIS_PASSWORD",
    ("redis", "sentinel", "password"): "REDIS_SENTINEL_PASSWORD",
    ("queue", "rabbitmq", "url"): "RABBITMQ_URL",
    ("admin_key",): "RAGWAY_ADMIN_KEY",
}
# Conventional names read in addition to the RAGWAY_ scheme.
_CONVENTIONAL_ENV: dict[str, Path_] = {
    "DATABASE_URL": ("database", "url"),
    "DATABASE_READ_URL": ("database", "read_url"),
    "REDIS_URL": ("redis", "url"),
    "REDIS_PASSWORD": ("redis", "password"),
    "REDIS_SENTINEL_PASSWORD": ("redis", "sentinel", "password"),
    "RABBITMQ_URL": ("queue", "rabbitmq", "url"),
    # OpenTelemetry's own variables (the SDK's specification), mirrored in ``tracing``
    "OTEL_EXPORTER_OTLP_ENDPOINT": ("tracing", "endpoint"),
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": ("tracing", "traces_endpoint"),
    "OTEL_SERVICE_NAME": ("tracing", "service_name"),
    "OTEL_TRACES_SAMPLER": ("tracing", "sampler"),
    "OTEL_TRACES_SAMPLER_ARG": ("tracing", "sampler_arg"),
    "OTEL_RESOURCE_ATTRIBUTES": ("tracing", "resource_attributes"),
    "OTEL_BSP_SCHEDULE_DELAY": ("tracing", "schedule_delay_ms"),
}
# RAGWAY_ variables that are not settings paths.
_NOT_SETTINGS = {CONFIG_ENV, "RAGWAY_ADMIN_KEY"}


class SettingsError(Exception):
    """Configuration that cannot be used; the message names the key and where it was set."""


def load_settings(
    config_files: Sequence[Path | str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Build the settings for this process.

    Order (later wins): ``configs/default.yaml``, the given files (or those in
    ``RAGWAY_CONFIG``, separated by ``os.pathsep``), then environment variables
    ``RAGWAY_SECTION__KEY`` plus ``DATABASE_URL``, ``REDIS_URL`` and ``RAGWAY_ADMIN_KEY``.
    """
    env = os.environ if env is None else env
    if config_files is None:
        raw = env.get(CONFIG_ENV, "")
        config_files = [p for p in raw.split(os.pathsep) if p]
    data: dict[str, Any] = {}
    sources: dict[Path_, str] = {}
    for path in [DEFAULT_CONFIG, *(Path(p) for p in config_files)]:
        _merge(data, sources, _read_file(path), (), str(path))
    _merge_env(data, sources, env)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(describe(exc, sources)) from exc


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read config file: {exc.strerror}") from exc
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path}: invalid YAML: {exc}") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise SettingsError(f"{path}: the top level must be a mapping of settings")
    for secret, var in _SECRET_ENV.items():
        if _get(loaded, secret) is not None:
            raise SettingsError(
                f"{path}: '{'.'.join(secret)}' is a secret and is read only from the "
                f"environment; set {var} instead of writing it in a file"
            )
    return loaded


def _merge(
    into: dict[str, Any], sources: dict[Path_, str], new: Mapping[str, Any], at: Path_, source: str
) -> None:
    for key, value in new.items():
        path = (*at, str(key))
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], sources, value, path, source)
            sources.setdefault(path, source)
            continue
        into[key] = dict(value) if isinstance(value, Mapping) else value
        _mark(sources, path, value, source)


def _mark(sources: dict[Path_, str], path: Path_, value: Any, source: str) -> None:
    sources[path] = source
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _mark(sources, (*path, str(key)), inner, source)


def _merge_env(data: dict[str, Any], sources: dict[Path_, str], env: Mapping[str, str]) -> None:
    found: list[tuple[Path_, str, str]] = []
    for name, conventional in _CONVENTIONAL_ENV.items():
        if env.get(name):
            found.append((conventional, name, env[name]))
    if env.get("RAGWAY_ADMIN_KEY"):
        found.append((("admin_key",), "RAGWAY_ADMIN_KEY", env["RAGWAY_ADMIN_KEY"]))
    for name, value in sorted(env.items()):
        if name.startswith(ENV_PREFIX) and name not in _NOT_SETTINGS:
            parts = tuple(part.lower() for part in name[len(ENV_PREFIX) :].split("__"))
            found.append((parts, name, value))
    for path, name, value in found:
        node = data
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[path[-1]] = _parse_env_value(value)
        sources[path] = f"environment variable {name}"


def _parse_env_value(value: str) -> Any:
    stripped = value.strip()
    if stripped[:1] in ("[", "{"):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            return value
    return value


def _get(data: Mapping[str, Any], path: Path_) -> Any:
    node: Any = data
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node
