"""Build the CPU server from settings and the manifest, and run it with uvicorn."""

from __future__ import annotations

import logging

from litestar import Litestar

from configs import InferenceSettings
from inference.embedders import Embedder, LocalEmbedder
from inference.errors import ManifestError
from inference.generation import CausalModel, Scheduler
from inference.manifest import Manifest, ModelEntry, load_manifest
from inference.server._app import create_inference_app
from inference.server._metrics import ServerMetrics
from inference.server._service import InferenceService

__all__ = ["build_cpu_app", "serve_cpu"]

_log = logging.getLogger(__name__)


def build_cpu_app(settings: InferenceSettings) -> Litestar:
    """Check the manifest, load the chosen models and build the app (slow: loads weights)."""
    cpu = settings.cpu
    manifest = load_manifest(settings.manifest)
    entries = _chosen(manifest, cpu.models)
    if cpu.torch_threads is not None:
        import torch

        torch.set_num_threads(cpu.torch_threads)
    generators: dict[str, CausalModel] = {}
    embedders: dict[str, Embedder] = {}
    for entry in entries:
        path = manifest.weights(entry)
        if entry.task == "generate":
            template = manifest.chat_template(entry)
            generators[entry.name] = CausalModel(
                path,
                name=entry.name,
                context_length=entry.max_len,
                device=cpu.device,
                dtype=entry.dtype,
                chat_template=template.read_text(encoding="utf-8") if template else None,
            )
        else:
            embedders[entry.name] = LocalEmbedder(
                path, model_name=entry.name, max_length=entry.max_len, device=cpu.device
            )
        _log.info("model loaded", extra={"model": entry.name, "task": entry.task})
    scheduler = Scheduler(max_active=cpu.max_active, max_queued=cpu.max_queued)
    metrics = ServerMetrics()
    metrics.watch(scheduler)
    service = InferenceService(
        generators=generators, embedders=embedders, scheduler=scheduler, metrics=metrics
    )
    return create_inference_app(service, on_shutdown=[scheduler.close])


def _chosen(manifest: Manifest, names: tuple[str, ...]) -> list[ModelEntry]:
    if not names:
        return list(manifest.models)
    missing = [n for n in names if n not in {e.name for e in manifest.models}]
    if missing:
        raise ManifestError(f"inference.cpu.models names models not in the manifest: {missing}")
    return [manifest.get(name) for name in names]


def serve_cpu(settings: InferenceSettings, *, graceful_timeout_s: float = 30.0) -> None:
    """Serve until SIGTERM or Ctrl-C (uvicorn handles both)."""
    import uvicorn

    app = build_cpu_app(settings)
    uvicorn.run(
        app,
        host=settings.cpu.host,
        port=settings.cpu.port,
        log_config=None,
        server_header=False,
        timeout_graceful_shutdown=int(graceful_timeout_s),
    )
