"""The pipeline of a gateway process, from the hooks ``gateway.entry.compose`` lists."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from configs import Settings
from gateway.platform.resources import Resources
from gateway.policy.auth import Authenticator
from gateway.policy.pipeline._hook import Hook
from gateway.policy.pipeline._pipeline import Pipeline

__all__ = ["HookDeps", "build_pipeline"]


@dataclass(frozen=True, slots=True)
class HookDeps:
    """What ``ApiServices.open`` hands over: ``policy_hooks`` is every hook, in stage order
    (``gateway.entry.compose.stage_hooks``); the other fields are not read here."""

    settings: Settings
    resources: Resources
    authenticator: Authenticator
    policy_hooks: Sequence[Hook] = ()


def build_pipeline(deps: HookDeps) -> Pipeline:
    return Pipeline(deps.policy_hooks)
