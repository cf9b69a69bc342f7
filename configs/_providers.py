"""Settings of the gateway core: model aliases and their deployments, routing, upstream HTTP,
and observability (request ids, access log, metrics)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "DeploymentSettings",
    "ModelAliasSettings",
    "ObservabilitySettings",
    "ProvidersSettings",
    "RoutingSettings",
    "UpstreamHttpSettings",
]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_ca_bundle(value: str | None) -> str | None:
    if value is not None and not Path(value).is_file():
        raise ValueError(f"no such file: {value}")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeploymentSettings(_Strict):
    """One upstream that can serve a model alias.

    The API key is never written here: ``api_key_env`` names the environment variable that
    holds it, read once when the gateway starts.
    """

    name: str = Field(min_length=1, description="unique name, used in logs and metrics")
    provider: Literal["openai", "azure", "anthropic"] = Field(
        description="openai: OpenAI or any compatible server (vLLM); azure: Azure OpenAI; "
        "anthropic: the Messages API"
    )
    model: str = Field(min_length=1, description="model (or Azure deployment) name upstream")
    base_url: str = Field(description="e.g. https://api.openai.com/v1")
    api_key_env: str | None = Field(default=None, description="NAME of the key's env variable")
    api_version: str | None = Field(default=None, description="Azure api-version")
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
    default_max_tokens: int | None = Field(
        default=None,
        ge=1,
        description="anthropic only: max_tokens sent when the client sets none (default 4096)",
    )

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

    @model_validator(mode="after")
    def _azure_needs_version(self) -> DeploymentSettings:
        if self.provider == "azure" and not self.api_version:
            raise ValueError("azure deployments need api_version (e.g. 2024-10-21)")
        if self.default_max_tokens is not None and self.provider != "anthropic":
            raise ValueError("default_max_tokens applies to anthropic deployments only")
        return self


class ModelAliasSettings(_Strict):
    """A model name clients use, served by one or more deployments."""

    type: Literal["chat", "embedding"] = Field(
        default="chat", description="chat: /v1/chat/completions and /v1/completions"
    )
    owned_by: str = "ragway"
    deployments: tuple[DeploymentSettings, ...] = Field(min_length=1)


class RoutingSettings(_Strict):
    """Fallback between deployments and the per-deployment circuit breaker."""

    deadline_s: float = Field(default=120.0, gt=0, description="overall limit for all attempts")
    max_attempts: int = Field(default=3, ge=1)
    backoff_initial_s: float = Field(default=0.05, ge=0)
    backoff_max_s: float = Field(default=2.0, ge=0)
    breaker_failures: int = Field(default=5, ge=1, description="consecutive failures to open")
    breaker_cooldown_s: float = Field(default=30.0, gt=0, description="open -> half-open probe")


class UpstreamHttpSettings(_Strict):
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


class ObservabilitySettings(_Strict):
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


class ProvidersSettings(_Strict):
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
