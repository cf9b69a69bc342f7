"""vLLM on GPU hosts: the ``vllm serve`` command built from the manifest, and its supervisor."""

from __future__ import annotations

from inference.vllm._command import choose_model, vllm_command, vllm_env
from inference.vllm._serve import build_vllm_supervisor, serve_vllm
from inference.vllm._supervisor import SupervisorPolicy, VllmState, VllmSupervisor

__all__ = [
    "SupervisorPolicy",
    "VllmState",
    "VllmSupervisor",
    "build_vllm_supervisor",
    "choose_model",
    "serve_vllm",
    "vllm_command",
    "vllm_env",
]
