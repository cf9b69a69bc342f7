"""``ragway inference serve``: local models, with vLLM on GPU hosts or the CPU server."""

from __future__ import annotations

import signal
import threading
from typing import Literal

import click

from configs import configure_logging
from gateway.entry.cli._context import CliContext, pass_cli
from inference.errors import InferenceError

__all__ = ["inference_group"]


@click.group("inference")
def inference_group() -> None:
    """Serve the local models described in the model manifest (models/manifest.yaml)."""


@inference_group.command("serve")
@click.option(
    "--backend",
    type=click.Choice(["vllm", "cpu"]),
    default="vllm",
    show_default=True,
    help="vllm: supervise `vllm serve` (GPU hosts); cpu: the transformers server.",
)
@click.option("--model", help="vllm: the manifest model to serve (inference.vllm.model).")
@click.option("--host", help="Interface to listen on (inference.<backend>.host).")
@click.option("--port", type=int, help="Port to listen on (inference.<backend>.port).")
@pass_cli
def serve_command(
    cli: CliContext,
    backend: Literal["vllm", "cpu"],
    model: str | None,
    host: str | None,
    port: int | None,
) -> None:
    """Check the manifest, then serve its models until SIGTERM or Ctrl-C."""
    settings = cli.settings()
    configure_logging(settings.logging, process=f"inference-{backend}")
    inference = settings.inference
    listen = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    try:
        if backend == "vllm":
            from inference.vllm import serve_vllm

            inference = inference.model_copy(
                update={"vllm": inference.vllm.model_copy(update=listen)}
            )
            stop = threading.Event()
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
            serve_vllm(inference, model=model, stop=stop)
        else:
            from inference.server import serve_cpu

            if model is not None:
                raise click.UsageError(
                    "--model applies to --backend vllm; see inference.cpu.models"
                )
            inference = inference.model_copy(
                update={"cpu": inference.cpu.model_copy(update=listen)}
            )
            serve_cpu(inference, graceful_timeout_s=settings.gateway.graceful_timeout_s)
    except InferenceError as exc:
        raise click.ClickException(str(exc)) from exc
