"""``ragway gateway``, ``ragway worker`` and ``ragway embedder``: one production process each."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import click

from configs import LocalEmbedderSettings, SettingsError, configure_logging
from gateway.entry.cli._context import CliContext, pass_cli
from gateway.platform.urls import require_urls

if TYPE_CHECKING:
    from gateway.policy.observability import RequestIdMiddleware

__all__ = ["embedder_command", "gateway_app", "gateway_command", "worker_command"]


@click.command("gateway")
@click.option("--host", help="Interface to listen on (gateway.host).")
@click.option("--port", type=int, help="Port to listen on (gateway.port).")
@click.option("--workers", type=int, help="uvicorn worker processes (gateway.workers).")
@pass_cli
def gateway_command(
    cli: CliContext, host: str | None, port: int | None, workers: int | None
) -> None:
    """Run the HTTP gateway (needs DATABASE_URL and REDIS_URL)."""
    from gateway.api import GatewayHttpProtocol, UvicornInternalsError, require_uvicorn_internals
    from gateway.entry.cli._uvicorn import serve_gateway

    for name, value in (("HOST", host), ("PORT", port), ("WORKERS", workers)):
        if value is not None:  # through the environment, so every uvicorn worker sees it
            os.environ[f"RAGWAY_GATEWAY__{name}"] = str(value)
    settings = cli.settings()
    try:
        database_url, _ = require_urls(settings)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        require_uvicorn_internals()
    except UvicornInternalsError as exc:
        raise click.ClickException(str(exc)) from exc
    configure_logging(settings.logging, process="gateway")
    if settings.gateway.workers > 1:
        from gateway.policy.observability import prepare_multiprocess_metrics

        prepare_multiprocess_metrics(settings.data_dir / "prometheus")
    observability = settings.providers.observability
    if observability.metrics_port is not None:
        from gateway.api.metrics import AdminKeyGate
        from gateway.policy.observability import serve_metrics
        from gateway.policy.usage import BudgetGauges
        from ingestion.metrics import use_created_series

        timeout_s = settings.database.connect_timeout_s
        gate = None
        if observability.metrics_auth == "admin":  # the port asks what /metrics asks
            gate = AdminKeyGate(database_url, connect_timeout_s=timeout_s)
        use_created_series(settings.metrics.created_series)
        budgets = BudgetGauges(database_url, settings.metrics, connect_timeout_s=timeout_s)
        serve_metrics(settings.gateway.host, observability.metrics_port, gate=gate, extra=budgets)
    serve_gateway(
        "gateway.entry.cli._serve:gateway_app",
        factory=True,
        host=settings.gateway.host,
        port=settings.gateway.port,
        workers=settings.gateway.workers,
        timeout_graceful_shutdown=int(settings.gateway.graceful_timeout_s),
        log_config=None,
        server_header=False,
        loop="uvloop",
        # httptools, heads bounded; hot routes served directly (gateway.api.http._front)
        http=GatewayHttpProtocol.configured(settings.gateway),
    )


def gateway_app() -> RequestIdMiddleware:
    """uvicorn's factory for ``ragway gateway``: the app, every response with X-Request-ID."""
    from gateway.entry.app import app_from_env
    from gateway.policy.observability import RequestIdMiddleware

    return RequestIdMiddleware(app_from_env())


@click.command("worker")
@click.option("--threads", type=int, help="Worker threads (worker.threads).")
@pass_cli
def worker_command(cli: CliContext, threads: int | None) -> None:
    """Run a Dramatiq worker for ragway's queues (needs DATABASE_URL and REDIS_URL)."""
    from ingestion.worker import run_worker

    if threads is not None:
        os.environ["RAGWAY_WORKER__THREADS"] = str(threads)
    settings = cli.settings()
    try:
        database_url, redis_url = require_urls(settings)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    configure_logging(settings.logging, process="worker")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    from gateway.entry.jobs import GatewayJobs

    jobs = GatewayJobs(settings, database_url=database_url, redis_url=redis_url)
    run_worker(settings, database_url=database_url, redis_url=redis_url, stop=stop, plugins=[jobs])


@click.command("embedder")
@click.option(
    "--socket",
    "socket_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Listen on this Unix socket (mode 0600) instead of --host/--port.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=int, default=8002, show_default=True, help="Port to listen on.")
@pass_cli
def embedder_command(cli: CliContext, socket_path: Path | None, host: str, port: int) -> None:
    """Serve the local embedder (inference.embedder) on /v1/embeddings, once for the host.

    Gateways and workers whose inference.embedder.shared_socket names the socket use it
    instead of loading the model themselves (`ragway run` does this for its processes).
    """
    from inference.server import serve_embedder

    settings = cli.settings()
    embedder = settings.inference.embedder
    if not isinstance(embedder, LocalEmbedderSettings):
        raise click.ClickException(
            "inference.embedder.kind is remote: there is no local model to serve"
        )
    configure_logging(settings.logging, process="embedder")
    serve_embedder(
        embedder.model_copy(update={"shared_socket": None}),
        socket=socket_path,
        host=host,
        port=port,
        graceful_timeout_s=settings.gateway.graceful_timeout_s,
    )
