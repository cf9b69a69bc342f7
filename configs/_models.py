"""Typed settings: the shape of every configuration file and environment override."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from configs._batches import BatchSettings
from configs._console import ConsoleSettings
from configs._files import FileSettings
from configs._idempotency import IdempotencySettings
from configs._inference import InferenceSettings
from configs._ingestion import IngestionSettings
from configs._metrics import MetricsSettings
from configs._pii import PiiSettings
from configs._policy import PolicySettings
from configs._providers import ProvidersSettings
from configs._queue import QueueSettings
from configs._responses import ResponsesSettings
from configs._retrieval import RetrievalSettings
from configs._sentinel import SentinelSettings
from configs._strict import Strict
from configs._tools import ToolSettings
from configs._tracing import TracingSettings
from configs._webhooks import WebhookSettings

__all__ = [
    "DatabaseSettings",
    "EmbeddedSettings",
    "GatewaySettings",
    "LoggingSettings",
    "RedisSettings",
    "Settings",
    "WorkerSettings",
]


class GatewaySettings(Strict):
    """The HTTP gateway process."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64, description="uvicorn worker processes")
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    max_header_bytes: int = Field(
        default=64 * 1024,
        ge=4096,
        le=16 * 1024 * 1024,
        description="bytes of a request's line and headers; a larger head gets 431 and the "
        "connection is closed",
    )
    max_headers: int = Field(
        default=100, ge=16, le=10_000, description="headers per request; more get 431"
    )
    graceful_timeout_s: float = Field(default=30.0, gt=0)
    readiness_timeout_s: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="/readyz answers within this, whatever its checks do (Postgres gets "
        "three quarters of it to hand out a connection)",
    )
    busy_poll_us: int = Field(
        default=500,
        ge=0,
        le=100_000,
        description="after a request arrives, poll instead of sleeping this long (0: off)",
    )


class DatabaseSettings(Strict):
    """Postgres with pgvector. `url` and `read_url` are secrets: only the environment sets them
    (`DATABASE_URL`, `DATABASE_READ_URL`)."""

    url: SecretStr | None = None
    pool_min_size: int = Field(default=1, ge=0)
    pool_max_size: int = Field(default=10, ge=1)
    connect_timeout_s: float = Field(default=5.0, gt=0)
    acquire_timeout_s: float = Field(
        default=5.0,
        gt=0,
        description="how long a request waits for a pooled connection before it gets 503",
    )
    statement_timeout_s: float = Field(
        default=4.0,
        gt=0,
        description="Postgres cancels a statement running longer (its statement_timeout)",
    )
    answer_timeout_s: float = Field(
        default=5.0,
        gt=0,
        description=(
            "how long a process waits for Postgres to answer one round trip before it drops "
            "the connection (503): the bound when the server is frozen or cut off"
        ),
    )
    tcp_timeout_s: float = Field(
        default=15.0,
        ge=1,
        description="a TCP peer silent this long (keepalives, unacknowledged data) is gone",
    )
    migrate_on_start: bool = True
    migrate_wait_s: float = Field(
        default=30.0, ge=0, description="how long a starting process waits for Postgres"
    )
    pooler: Literal["none", "transaction"] = Field(
        default="none",
        description="transaction: the database URLs lead to a pooler in transaction mode "
        "(PgBouncer): no server-side prepared statements, statement_timeout set per "
        "transaction, the outbox relay polls instead of LISTEN",
    )
    read_url: SecretStr | None = Field(
        default=None,
        description="a read replica for vector-store search and chat retrieval (never writes); "
        "a secret: only DATABASE_READ_URL sets it",
    )


class RedisSettings(Strict):
    """Redis for quotas, key invalidation, console sessions and the Dramatiq broker: one
    server (`url`, a secret only `REDIS_URL` sets) or the master that `sentinel` names."""

    url: SecretStr | None = None
    key_prefix: str = Field(default="ragway:", min_length=1)
    socket_timeout_s: float = Field(default=2.0, gt=0)
    password: SecretStr | None = Field(
        default=None,
        description="password of the Redis servers found through Sentinel (a URL carries its "
        "own); only REDIS_PASSWORD sets it",
    )
    sentinel: SentinelSettings = SentinelSettings()


class WorkerSettings(Strict):
    """The Dramatiq worker process."""

    threads: int = Field(default=4, ge=1, le=64)
    queues: tuple[str, ...] = ("default", "ingestion", "batches", "responses", "webhooks")
    namespace: str = Field(default="ragway-dramatiq", min_length=1)
    shutdown_timeout_s: float = Field(default=30.0, gt=0)
    heartbeat_timeout_s: float = Field(
        default=60.0, gt=0, description="a worker silent this long is dead: its messages return"
    )
    maintenance_chance: int = Field(
        default=1000,
        ge=0,
        le=1_000_000,
        description="broker calls per million that look for dead workers",
    )
    recovery_interval_s: float = Field(
        default=5.0,
        gt=0,
        description="how often each worker requeues dead workers' messages (at most a third "
        "of heartbeat_timeout_s: the sweep is also the worker's heartbeat)",
    )
    relay: bool = Field(
        default=True,
        description="this worker relays the outbox (jobs staged in Postgres) to the broker",
    )
    relay_interval_s: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="the relay's poll between wake-ups (it is woken at once by each commit "
        "that stages jobs, unless a transaction-mode pooler drops LISTEN)",
    )
    relay_batch_size: int = Field(
        default=500, ge=1, le=10_000, description="jobs one relay pass claims and publishes"
    )


class EmbeddedSettings(Strict):
    """Services `ragway run` starts itself when no URL is configured for them."""

    postgres: bool = True
    redis: bool = True
    redis_port: int = Field(default=6390, ge=1, le=65535)
    embedder: bool = Field(
        default=True,
        description="with a local embedder: one `ragway embedder` process serves the gateway "
        "and the worker (false: each loads its own copy of the model)",
    )


class LoggingSettings(Strict):
    """Process logging: one JSON object per line by default."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["json", "text"] = "json"


class Settings(Strict):
    """Everything a ragway process is configured with, loaded once at start."""

    data_dir: Path = Path(".ragway")
    admin_key: SecretStr | None = Field(
        default=None, description="bootstrap admin API key; only RAGWAY_ADMIN_KEY sets it"
    )
    gateway: GatewaySettings = GatewaySettings()
    database: DatabaseSettings = DatabaseSettings()
    redis: RedisSettings = RedisSettings()
    worker: WorkerSettings = WorkerSettings()
    queue: QueueSettings = QueueSettings()
    embedded: EmbeddedSettings = EmbeddedSettings()
    logging: LoggingSettings = LoggingSettings()
    inference: InferenceSettings = InferenceSettings()
    ingestion: IngestionSettings = IngestionSettings()
    policy: PolicySettings = PolicySettings()
    pii: PiiSettings = PiiSettings()
    tools: ToolSettings = ToolSettings()
    providers: ProvidersSettings = ProvidersSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    responses: ResponsesSettings = ResponsesSettings()
    idempotency: IdempotencySettings = IdempotencySettings()
    webhooks: WebhookSettings = WebhookSettings()
    files: FileSettings = FileSettings()
    batches: BatchSettings = BatchSettings()
    console: ConsoleSettings = ConsoleSettings()
    tracing: TracingSettings = TracingSettings()
    metrics: MetricsSettings = MetricsSettings()
