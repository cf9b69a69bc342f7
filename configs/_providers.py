"""Settings of the gateway core: model aliases and their deployments, routing, upstream HTTP,
and observability (request ids, access log, metrics)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import Field, field_validator, model_validator

from configs._strict import Strict

__all__ = [
    "AnthropicDeploymentSettings",
    "AzureDeploymentSettings",
    "BaseDeploymentSettings",
    "DeploymentSettings",
    "ModelAliasSettings",
    "ObservabilitySettings",
    "OpenAIDeploymentSettings",
    "ProvidersSettings",
    "RoutingSettings",
    "UpstreamHttpSettings",
]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_ca_bundle(value: str | None) -> str | None:
    if value is not None and not Path(value).is_file():
        raise ValueError(f"no such file: {value}")
    return value


class BaseDeploymentSettings(Strict):
    """What every deployment has, whatever its provider: one upstream that can serve a model
    alias.

    The API key is never written here: ``api_key_env`` names the environment variable that
    holds it, read once when the gateway starts.
    """

    name: str = Field(min_length=1, description="unique name, used in logs and metrics")
    model: str = Field(min_length=1, description="model (or Azure deployment) name upstream")
    base_url: str = Field(description="e.g. https://api.openai.com/v1")
    api_key_env: str | None = Field(default=None, description="NAME of the key's env variable")
    timeout_s: float = Field(default=60.0, gt=0, description="connect + first byte")
    weight: float = Field(default=1.0, gt=0)
    trust: Literal["local", "external"] = "external"
    input_price_per_1m: float = Field(default=0.0, ge=0, description="USD per 1M input tokens")
    output_price_per_1m: float = Field(default=0.0, ge=0, description="USD per 1M output tokens")
    context_window: int | None = Field(default=None, ge=1)
    headers: dict[str, str] = Field(default_factory=dict, description="extra request headers")
    proxy: str | None = Field(
        default=None,
        description="this deployment's forward proxy (http://[user:pass@]host:port), or "
        "'direct' for none; unset: providers.http.proxy (checked at start, so that an "
        "error never echoes the credentials)",
    )
    ca_bundle: str | None = Field(
        default=None, description="PEM file of CAs to trust; unset: providers.http.ca_bundle"
    )
    verify: bool | None = Field(
        default=None, description="verify the upstream's TLS certificate; unset: providers.http"
    )

    @model_validator(mode="before")
    @classmethod
    def _key_of_another_provider(cls, data: Any) -> Any:
        """A key only other providers take is named as such (not just "unknown key")."""
        if isinstance(data, Mapping):
            for key in data.keys() - cls.model_fields.keys():
                takers = [kind for kind, model in _BY_PROVIDER.items() if key in model.model_fields]
                if takers:
                    raise ValueError(f"{key} applies to {' and '.join(takers)} deployments only")
        return data

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.match(value):
            raise ValueError("must be the NAME of an environment variable, not the key itself")
        return value

    @field_validator("ca_bundle")
    @classmethod
    def _ca_file(cls, value: str | None) -> str | None:
        return _check_ca_bundle(value)


class OpenAIDeploymentSettings(BaseDeploymentSettings):
    """OpenAI or any server speaking its wire format (vLLM)."""

    provider: Literal["openai"] = Field(description="OpenAI or any compatible server (vLLM)")
    responses_api: Literal["native", "translate"] | None = Field(
        default=None,
        description="how /v1/responses reaches this upstream: native (its own /responses) or "
        "translate (to chat completions); unset: native for provider openai, translate for "
        "azure and anthropic",
    )


class AzureDeploymentSettings(BaseDeploymentSettings):
    """Azure OpenAI: ``base_url`` is the resource endpoint, ``model`` the Azure deployment."""

    provider: Literal["azure"] = Field(description="Azure OpenAI")
    api_version: str = Field(min_length=1, description="Azure api-version, e.g. 2024-10-21")


class AnthropicDeploymentSettings(BaseDeploymentSettings):
    """Anthropic's Messages API."""

    provider: Literal["anthropic"] = Field(description="the Messages API")
    api_version: str | None = Field(default=None, description="overrides anthropic-version")
    default_max_tokens: int | None = Field(
        default=None,
        ge=1,
        description="max_tokens sent when the client sets none (default 4096)",
    )


# One model per provider kind, picked by ``provider``; each takes only its own keys.
DeploymentSettings = Annotated[
    OpenAIDeploymentSettings | AzureDeploymentSettings | AnthropicDeploymentSettings,
    Field(discriminator="provider"),
]
_BY_PROVIDER: Final[Mapping[str, type[BaseDeploymentSettings]]] = {
    "openai": OpenAIDeploymentSettings,
    "azure": AzureDeploymentSettings,
    "anthropic": AnthropicDeploymentSettings,
}


class ModelAliasSettings(Strict):
    """A model name clients use, served by one or more deployments."""

    type: Literal["chat", "embedding"] = Field(
        default="chat", description="chat: /v1/chat/completions and /v1/completions"
    )
    owned_by: str = "ragway"
    deployments: tuple[DeploymentSettings, ...] = Field(min_length=1)


class RoutingSettings(Strict):
    """Fallback between deployments and the per-deployment circuit breaker."""

    deadline_s: float = Field(default=120.0, gt=0, description="overall limit for all attempts")
    max_attempts: int = Field(default=3, ge=1)
    backoff_initial_s: float = Field(default=0.05, ge=0)
    backoff_max_s: float = Field(default=2.0, ge=0)
    breaker_failures: int = Field(default=5, ge=1, description="consecutive failures to open")
    breaker_cooldown_s: float = Field(default=30.0, gt=0, description="open -> half-open probe")


class UpstreamHttpSettings(Strict):
    """The one upstream connection pool of a gateway process: limits, proxy and TLS trust.

    Proxies follow curl/requests/httpx: unless ``proxy`` is set, ``HTTPS_PROXY`` /
    ``HTTP_PROXY`` / ``ALL_PROXY`` and ``NO_PROXY`` are read once at start.
    """

    max_idle_per_host: int = Field(default=256, ge=1)
    idle_timeout_s: float = Field(default=60.0, gt=0)
    connect_timeout_s: float = Field(default=10.0, gt=0)
    proxy: str | None = Field(
        default=None,
        description="forward proxy for every upstream (http://[user:pass@]host:port), or "
        "'direct' to ignore the environment; unset: HTTPS_PROXY / HTTP_PROXY",
    )
    no_proxy: str | None = Field(
        default=None,
        description="hosts reached directly, comma separated (NO_PROXY syntax); unset: $NO_PROXY",
    )
    ca_bundle: str | None = Field(
        default=None, description="PEM file of CAs trusted for upstream TLS; unset: system store"
    )
    verify: bool = Field(default=True, description="false: no upstream certificate checks")

    @field_validator("ca_bundle")
    @classmethod
    def _ca_file(cls, value: str | None) -> str | None:
        return _check_ca_bundle(value)


class ObservabilitySettings(Strict):
    """Request ids, the access log and Prometheus metrics."""

    access_log: bool = True
    overhead_header: bool = Field(default=True, description="send X-Ragway-Overhead-Ms")
    metrics_auth: Literal["none", "admin"] = Field(
        default="none", description="admin: /metrics needs an admin API key"
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="also serve the metrics of all workers on this port (ragway gateway)",
    )


class ProvidersSettings(Strict):
    """The OpenAI-compatible gateway core."""

    models: dict[str, ModelAliasSettings] = Field(default_factory=dict)
    routing: RoutingSettings = RoutingSettings()
    http: UpstreamHttpSettings = UpstreamHttpSettings()
    observability: ObservabilitySettings = ObservabilitySettings()

    @model_validator(mode="after")
    def _unique_deployments(self) -> ProvidersSettings:
        seen: dict[str, str] = {}
        for alias, model in self.models.items():
            for deployment in model.deployments:
                if deployment.name in seen:
                    raise ValueError(
                        f"deployment name {deployment.name!r} is used by both "
                        f"{seen[deployment.name]!r} and {alias!r}; names must be unique"
                    )
                seen[deployment.name] = alias
        return self
