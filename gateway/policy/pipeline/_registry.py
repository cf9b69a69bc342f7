"""The hooks every API call goes through. Adding a hook is one line in ``build_hooks``.

The list order within a stage is the run order; stages order the rest (see ``Stage``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from configs import Settings
from gateway.platform.resources import Resources
from gateway.policy.auth import Authenticator
from gateway.policy.pipeline._builtin import AuthHook, ModelAccessHook
from gateway.policy.pipeline._hook import Hook
from gateway.policy.pipeline._pipeline import Pipeline

__all__ = ["HookDeps", "build_hooks", "build_pipeline"]


@dataclass(frozen=True, slots=True)
class HookDeps:
    """What hooks may be built from: settings and the process's shared collaborators."""

    settings: Settings
    resources: Resources
    authenticator: Authenticator
    # Hooks built by services outside the pipeline (gateway.api.admin.PolicyServices: QUOTA and
    # USAGE); each carries its stage, so where they are listed does not matter.
    policy_hooks: Sequence[Hook] = ()


def build_hooks(deps: HookDeps) -> list[Hook]:
    return [
        AuthHook(deps.authenticator),  # AUTH: who is calling
        ModelAccessHook(),  # POLICY: may the key use the model alias
        *deps.policy_hooks,  # QUOTA: rate limits / budgets, USAGE: the ledger
        # POLICY: tool permissions, PII: redaction, RESPONSE: output checks -- register here.
    ]


def build_pipeline(deps: HookDeps) -> Pipeline:
    return Pipeline(build_hooks(deps))
