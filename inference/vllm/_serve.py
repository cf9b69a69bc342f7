"""Serve one manifest model with vLLM under supervision: the body of ``--backend vllm``."""

from __future__ import annotations

import threading

from configs import InferenceSettings
from inference.manifest import load_manifest
from inference.vllm._command import choose_model, vllm_command, vllm_env
from inference.vllm._supervisor import SupervisorPolicy, VllmSupervisor

__all__ = ["build_vllm_supervisor", "serve_vllm"]


def build_vllm_supervisor(settings: InferenceSettings, *, model: str | None) -> VllmSupervisor:
    """Validate the manifest (weights present, options known) and build the supervisor."""
    manifest = load_manifest(settings.manifest)
    entry = choose_model(manifest, model or settings.vllm.model)
    vllm = settings.vllm
    host = "127.0.0.1" if vllm.host in ("0.0.0.0", "::") else vllm.host  # noqa: S104
    return VllmSupervisor(
        vllm_command(manifest, entry, vllm),
        health_url=f"http://{host}:{vllm.port}/health",
        policy=SupervisorPolicy(
            startup_timeout_s=vllm.startup_timeout_s,
            health_interval_s=vllm.health_interval_s,
            health_failures=vllm.health_failures,
            restart_backoff_s=vllm.restart_backoff_s,
            restart_backoff_max_s=vllm.restart_backoff_max_s,
            stop_timeout_s=vllm.stop_timeout_s,
        ),
        env=vllm_env(),
    )


def serve_vllm(settings: InferenceSettings, *, model: str | None, stop: threading.Event) -> None:
    """Run vLLM until ``stop`` is set (SIGTERM/SIGINT in the CLI), then stop it gracefully."""
    build_vllm_supervisor(settings, model=model).run(stop)
