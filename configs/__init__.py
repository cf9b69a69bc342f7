"""Typed settings for every ragway process, and the config files they are read from."""

from __future__ import annotations

from configs._ingestion import (
    ChunkingSettings,
    IngestionSettings,
    IngestionStorageSettings,
    ParsingSettings,
)
from configs._loader import CONFIG_ENV, DEFAULT_CONFIG, SettingsError, load_settings
from configs._logging import JsonFormatter, configure_logging
from configs._models import (
    DatabaseSettings,
    EmbeddedSettings,
    GatewaySettings,
    LoggingSettings,
    RedisSettings,
    Settings,
    WorkerSettings,
)
from configs._policy import (
    KeyCacheSettings,
    PolicySettings,
    QuotaSettings,
    UsageSettings,
)
from configs._providers import (
    DeploymentSettings,
    ModelAliasSettings,
    ObservabilitySettings,
    ProvidersSettings,
    RoutingSettings,
    UpstreamHttpSettings,
)

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CONFIG",
    "ChunkingSettings",
    "DatabaseSettings",
    "DeploymentSettings",
    "EmbeddedSettings",
    "GatewaySettings",
    "IngestionSettings",
    "IngestionStorageSettings",
    "JsonFormatter",
    "KeyCacheSettings",
    "LoggingSettings",
    "ModelAliasSettings",
    "ObservabilitySettings",
    "ParsingSettings",
    "PolicySettings",
    "ProvidersSettings",
    "QuotaSettings",
    "RedisSettings",
    "RoutingSettings",
    "Settings",
    "SettingsError",
    "UpstreamHttpSettings",
    "UsageSettings",
    "WorkerSettings",
    "configure_logging",
    "load_settings",
]
