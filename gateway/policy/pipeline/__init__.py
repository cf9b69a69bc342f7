"""The request pipeline: ordered hooks (auth -> policy -> quota -> PII -> provider ->
response checks -> usage) around every OpenAI-compatible API call."""

from __future__ import annotations

from gateway.policy.pipeline._builtin import AuthHook, ModelAccessHook
from gateway.policy.pipeline._call import Call, Endpoint, Usage
from gateway.policy.pipeline._capabilities import NO_CAPABILITIES, Capabilities, PiiOutput
from gateway.policy.pipeline._hook import Hook, Stage
from gateway.policy.pipeline._pipeline import HookFailedError, Pipeline

__all__ = [
    "NO_CAPABILITIES",
    "AuthHook",
    "Call",
    "Capabilities",
    "Endpoint",
    "Hook",
    "HookFailedError",
    "ModelAccessHook",
    "PiiOutput",
    "Pipeline",
    "Stage",
    "Usage",
]
