"""Settings of local inference: the model manifest, vLLM, the CPU server and the embedder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from configs._strict import Strict

__all__ = [
    "CpuServerSettings",
    "EmbedderSettings",
    "InferenceSettings",
    "LocalEmbedderSettings",
    "RemoteEmbedderSettings",
    "VllmSettings",
]


class VllmSettings(Strict):
    """How ``ragway inference serve --backend vllm`` runs and supervises ``vllm serve``."""

    executable: str = Field(
        default="vllm",
        description="the vllm CLI of vLLM's own environment (it pins its own torch)",
    )
    model: str | None = Field(
        default=None, description="manifest model to serve; needed when several are listed"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    extra_args: tuple[str, ...] = Field(
        default=(), description="appended verbatim after the arguments built from the manifest"
    )
    startup_timeout_s: float = Field(default=900.0, gt=0, description="weights load slowly")
    health_interval_s: float = Field(default=5.0, gt=0)
    health_failures: int = Field(
        default=3, ge=1, description="consecutive failed health checks before a restart"
    )
    restart_backoff_s: float = Field(default=2.0, gt=0, description="first restart delay")
    restart_backoff_max_s: float = Field(default=120.0, gt=0)
    stop_timeout_s: float = Field(default=60.0, gt=0, description="SIGTERM grace, then SIGKILL")


class CpuServerSettings(Strict):
    """The transformers-based fallback server (``--backend cpu``)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8001, ge=1, le=65535)
    models: tuple[str, ...] = Field(
        default=(), description="manifest models to serve; empty serves every one listed"
    )
    device: Literal["cpu", "cuda"] = "cpu"
    max_active: int = Field(
        default=4, ge=1, description="generations advanced in turn, one token each"
    )
    max_queued: int = Field(default=64, ge=0, description="waiting requests beyond: 503")
    torch_threads: int | None = Field(default=None, ge=1, description="None: torch's default")


class LocalEmbedderSettings(Strict):
    """Embed on this machine with transformers (all-MiniLM-L6-v2 from its wheel by default)."""

    kind: Literal["local"] = "local"
    model_path: Path | None = Field(default=None, description="None: the packaged MiniLM")
    model_name: str = "all-MiniLM-L6-v2"
    batch_size: int = Field(default=32, ge=1)
    max_length: int = Field(default=256, ge=8)
    device: Literal["cpu", "cuda"] = "cpu"
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = Field(
        default="auto", description="auto: float32 on a CPU, the checkpoint's dtype on a GPU"
    )
    shared_socket: Path | None = Field(
        default=None,
        description="None: this process loads the model; a path: it asks the `ragway embedder` "
        "listening on this Unix socket instead (ragway run sets it for its gateway and worker)",
    )


class RemoteEmbedderSettings(Strict):
    """Embed through an OpenAI-compatible ``/v1/embeddings`` (vLLM, a provider)."""

    kind: Literal["remote"]
    base_url: str = Field(description="up to and including /v1, e.g. http://vllm:8000/v1")
    model: str = Field(min_length=1, description="model name the server knows")
    api_key_env: str | None = Field(
        default=None, description="name of the environment variable holding the API key"
    )
    dimension: int | None = Field(
        default=None, ge=1, description="expected vector length; None: asked once at start"
    )
    batch_size: int = Field(default=64, ge=1)
    timeout_s: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=2, ge=0, description="for connect errors, 429 and 5xx")


EmbedderSettings = Annotated[
    LocalEmbedderSettings | RemoteEmbedderSettings, Field(discriminator="kind")
]


class InferenceSettings(Strict):
    """Local model serving and the embedder used by ingestion and the gateway."""

    manifest: Path = Field(
        default=Path("models/manifest.yaml"), description="model paths are relative to it"
    )
    vllm: VllmSettings = VllmSettings()
    cpu: CpuServerSettings = CpuServerSettings()
    embedder: EmbedderSettings = LocalEmbedderSettings()
