"""Build the CPU server from settings and the manifest, and run it with uvicorn."""

from __future__ import annotations

import logging
import os
import socket as _socket
from pathlib import Path

from litestar import Litestar

from configs import InferenceSettings, LocalEmbedderSettings
from inference.embedders import Embedder, LocalEmbedder, build_embedder
from inference.errors import ManifestError
from inference.generation import CausalModel, Scheduler
from inference.manifest import Manifest, ModelEntry, load_manifest
from inference.server._app import create_inference_app
from inference.server._metrics import ServerMetrics
from inference.server._service import InferenceService

__all__ = ["build_cpu_app", "build_embedder_app", "serve_cpu", "serve_embedder"]

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


def build_embedder_app(settings: LocalEmbedderSettings) -> Litestar:
    """``/v1/embeddings`` over the configured local embedder, loaded now (slow)."""
    embedder = build_embedder(settings.model_copy(update={"shared_socket": None}))
    _log.info("model loaded", extra={"model": settings.model_name, "task": "embed"})
    scheduler = Scheduler(max_active=1, max_queued=0)  # no generators: never used
    metrics = ServerMetrics()
    service = InferenceService(
        generators={},
        embedders={settings.model_name: embedder},
        scheduler=scheduler,
        metrics=metrics,
    )
    return create_inference_app(service, on_shutdown=[scheduler.close])


def serve_embedder(
    settings: LocalEmbedderSettings,
    *,
    socket: Path | None = None,
    host: str = "127.0.0.1",
    port: int = 8002,
    graceful_timeout_s: float = 30.0,
) -> None:
    """Serve the embedder on a Unix socket (mode 0600) or on ``host:port`` until SIGTERM."""
    import uvicorn

    app = build_embedder_app(settings)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        uds=str(socket) if socket is not None else None,
        log_config=None,
        access_log=False,  # one line per embedding request would drown the log
        server_header=False,
        timeout_graceful_shutdown=int(graceful_timeout_s),
    )
    server = uvicorn.Server(config)
    if socket is None:
        server.run()
        return
    socket.unlink(missing_ok=True)  # a socket left by a killed embedder
    server.run(sockets=[_unix_socket(socket)])


def _unix_socket(path: Path) -> _socket.socket:
    """Bound before uvicorn sees it, so it is never open to others (uvicorn's own is 0666)."""
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    previous = os.umask(0o177)
    try:
        sock.bind(str(path))
    finally:
        os.umask(previous)
    sock.listen(2048)
    return sock


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
