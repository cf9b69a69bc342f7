"""The CPU fallback server: OpenAI's chat, completions, embeddings and models endpoints.

transformers on CPU (or one CUDA device) for laptops, CI and small deployments; GPU hosts
run vLLM instead. Litestar is imported here, so only processes that serve import it.
"""

from __future__ import annotations

from inference.server._app import create_inference_app
from inference.server._metrics import ServerMetrics
from inference.server._serve import build_cpu_app, build_embedder_app, serve_cpu, serve_embedder
from inference.server._service import InferenceService, ModelNotFoundError

__all__ = [
    "InferenceService",
    "ModelNotFoundError",
    "ServerMetrics",
    "build_cpu_app",
    "build_embedder_app",
    "create_inference_app",
    "serve_cpu",
    "serve_embedder",
]
