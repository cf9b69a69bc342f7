"""Typed settings for every ragway process, and the config files they are read from."""

from __future__ import annotations

from configs._batches import BatchSettings
from configs._console import ConsoleSettings
from configs._files import FileSettings
from configs._idempotency import IdempotencySettings
from configs._inference import (
    CpuServerSettings,
    EmbedderSettings,
    InferenceSettings,
    LocalEmbedderSettings,
    RemoteEmbedderSettings,
    VllmSettings,
)
from configs._ingestion import (
    ChunkingSettings,
    IngestionSettings,
    IngestionStorageSettings,
    LocalStorageSettings,
    ParsingSettings,
    S3StorageSettings,
    TokenChunkingSettings,
    UnstructuredParsingSettings,
)
from configs._loader import CONFIG_ENV, DEFAULT_CONFIG, SettingsError, load_settings
from configs._logging import JsonFormatter, configure_logging, join_traces, log_info_fields
from configs._metrics import MetricsSettings
from configs._models import (
    DatabaseSettings,
    EmbeddedSettings,
    GatewaySettings,
    LoggingSettings,
    RedisSettings,
    Settings,
    WorkerSettings,
)
from configs._ocr import OcrSettings
from configs._pii import PiiAction, PiiNlpSettings, PiiPolicySettings, PiiSettings
from configs._policy import (
    KeyCacheSettings,
    PolicySettings,
    QuotaSettings,
    UsageSettings,
)
from configs._providers import (
    AnthropicDeploymentSettings,
    AzureDeploymentSettings,
    BaseDeploymentSettings,
    DeploymentSettings,
    ModelAliasSettings,
    ObservabilitySettings,
    OpenAIDeploymentSettings,
    ProvidersSettings,
    RoutingSettings,
    UpstreamHttpSettings,
)
from configs._queue import BrokerKind, QueueSettings, RabbitmqSettings
from configs._responses import ResponsesSettings
from configs._retrieval import (
    QueryCacheSettings,
    RetrievalChatSettings,
    RetrievalSettings,
    SearchSettings,
)
from configs._sentinel import SentinelSettings
from configs._tools import AuditSettings, ToolSettings
from configs._tracing import TracingSettings
from configs._uploads import UploadSettings
from configs._webhooks import WebhookSettings

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CONFIG",
    "AnthropicDeploymentSettings",
    "AuditSettings",
    "AzureDeploymentSettings",
    "BaseDeploymentSettings",
    "BatchSettings",
    "BrokerKind",
    "ChunkingSettings",
    "ConsoleSettings",
    "CpuServerSettings",
    "DatabaseSettings",
    "DeploymentSettings",
    "EmbeddedSettings",
    "EmbedderSettings",
    "FileSettings",
    "GatewaySettings",
    "IdempotencySettings",
    "InferenceSettings",
    "IngestionSettings",
    "IngestionStorageSettings",
    "JsonFormatter",
    "KeyCacheSettings",
    "LocalEmbedderSettings",
    "LocalStorageSettings",
    "LoggingSettings",
    "MetricsSettings",
    "ModelAliasSettings",
    "ObservabilitySettings",
    "OcrSettings",
    "OpenAIDeploymentSettings",
    "ParsingSettings",
    "PiiAction",
    "PiiNlpSettings",
    "PiiPolicySettings",
    "PiiSettings",
    "PolicySettings",
    "ProvidersSettings",
    "QueryCacheSettings",
    "QueueSettings",
    "QuotaSettings",
    "RabbitmqSettings",
    "RedisSettings",
    "RemoteEmbedderSettings",
    "ResponsesSettings",
    "RetrievalChatSettings",
    "RetrievalSettings",
    "RoutingSettings",
    "S3StorageSettings",
    "SearchSettings",
    "SentinelSettings",
    "Settings",
    "SettingsError",
    "TokenChunkingSettings",
    "ToolSettings",
    "TracingSettings",
    "UnstructuredParsingSettings",
    "UploadSettings",
    "UpstreamHttpSettings",
    "UsageSettings",
    "VllmSettings",
    "WebhookSettings",
    "WorkerSettings",
    "configure_logging",
    "join_traces",
    "load_settings",
    "log_info_fields",
]
