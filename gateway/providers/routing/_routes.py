"""Model aliases and their deployments, resolved once at start-up from settings and env."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from configs import (
    AnthropicDeploymentSettings,
    AzureDeploymentSettings,
    DeploymentSettings,
    ModelAliasSettings,
    OpenAIDeploymentSettings,
)
from gateway.providers import Target, transport_options
from gateway.providers.routing._breaker import BreakerState, CircuitBreaker

__all__ = ["ConfigurationError", "Deployment", "ModelRoute", "build_routes"]


class ConfigurationError(Exception):
    """The provider configuration cannot be used (e.g. an API key variable is not set)."""


@dataclass(frozen=True, slots=True, eq=False)
class Deployment:
    """One deployment at run time: where calls go and its breaker."""

    alias: str
    kind: str
    target: Target
    weight: float
    trust: Literal["local", "external"]
    input_price_per_1m: float
    output_price_per_1m: float
    context_window: int | None
    breaker: CircuitBreaker
    # /v1/responses: "native" posts a Responses body to the upstream's own /responses,
    # "translate" sends it chat completions
    responses_api: Literal["native", "translate"] = "translate"

    @property
    def name(self) -> str:
        return self.target.deployment


@dataclass(frozen=True, slots=True, eq=False)
class ModelRoute:
    """A model alias as clients see it."""

    alias: str
    type: Literal["chat", "embedding"]
    owned_by: str
    deployments: tuple[Deployment, ...]

    @property
    def context_window(self) -> int | None:
        windows = [d.context_window for d in self.deployments if d.context_window]
        return min(windows) if windows else None


def build_routes(
    models: Mapping[str, ModelAliasSettings],
    *,
    env: Mapping[str, str],
    breaker_failures: int,
    breaker_cooldown_s: float,
    on_breaker_change: Callable[[str, BreakerState], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, ModelRoute]:
    """Resolve every alias; a named API key variable that is unset stops start-up."""
    routes: dict[str, ModelRoute] = {}
    for alias, model in models.items():
        deployments = []
        for item in model.deployments:
            api_key: str | None = None
            if item.api_key_env is not None:
                api_key = env.get(item.api_key_env)
                if not api_key:
                    raise ConfigurationError(
                        f"providers.models.{alias}: deployment {item.name!r} reads its API key "
                        f"from ${item.api_key_env}, which is not set"
                    )
            api_version, default_max_tokens = _provider_options(item)
            target = Target(
                deployment=item.name,
                base_url=item.base_url,
                upstream_model=item.model,
                api_key=api_key,
                timeout_s=item.timeout_s,
                headers=dict(item.headers),
                transport=transport_options(item),
                api_version=api_version,
                default_max_tokens=default_max_tokens,
            )
            deployments.append(
                Deployment(
                    alias=alias,
                    kind=item.provider,
                    target=target,
                    weight=item.weight,
                    trust=item.trust,
                    input_price_per_1m=item.input_price_per_1m,
                    output_price_per_1m=item.output_price_per_1m,
                    context_window=item.context_window,
                    breaker=CircuitBreaker(
                        failures=breaker_failures,
                        cooldown_s=breaker_cooldown_s,
                        on_change=_bind(on_breaker_change, item.name),
                        clock=clock,
                    ),
                    responses_api=_responses_api(item),
                )
            )
        routes[alias] = ModelRoute(alias, model.type, model.owned_by, tuple(deployments))
    return routes


def _provider_options(item: DeploymentSettings) -> tuple[str | None, int | None]:
    """``api_version`` and ``default_max_tokens``: only some provider kinds' settings have them."""
    match item:
        case AzureDeploymentSettings():
            return item.api_version, None
        case AnthropicDeploymentSettings():
            return item.api_version, item.default_max_tokens
    return None, None


def _responses_api(item: DeploymentSettings) -> Literal["native", "translate"]:
    """How /v1/responses reaches ``item``: only OpenAI deployments speak it, natively by default."""
    if isinstance(item, OpenAIDeploymentSettings):
        return item.responses_api or "native"
    return "translate"


def _bind(
    callback: Callable[[str, BreakerState], None] | None, name: str
) -> Callable[[BreakerState], None] | None:
    if callback is None:
        return None
    return lambda state: callback(name, state)
