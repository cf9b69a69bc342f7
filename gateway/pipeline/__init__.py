"""The request pipeline: ordered hooks (auth -> policy -> quota -> PII -> provider ->
response checks -> usage) around every OpenAI-compatible API call."""

from __future__ import annotations

from gateway.pipeline._builtin import AuthHook, ModelAccessHook
from gateway.pipeline._call import Call, Endpoint, Usage
from gateway.pipeline._hook import Hook, Stage
from gateway.pipeline._pipeline import HookFailedError, Pipeline
from gateway.pipeline._registry import HookDeps, build_hooks, build_pipeline

__all__ = [
    "AuthHook",
    "Call",
    "Endpoint",
    "Hook",
    "HookDeps",
    "HookFailedError",
    "ModelAccessHook",
    "Pipeline",
    "Stage",
    "Usage",
    "build_hooks",
    "build_pipeline",
]
