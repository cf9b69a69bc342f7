"""The ``ragway`` command line: one subcommand per process, plus operations commands."""

from __future__ import annotations

import os
from pathlib import Path

import click

from gateway.entry.cli._context import CliContext
from gateway.entry.cli._db import db_group
from gateway.entry.cli._inference import inference_group
from gateway.entry.cli._ingest import ingest_command
from gateway.entry.cli._keys import keys_group
from gateway.entry.cli._misc import config_group
from gateway.entry.cli._run import run_command
from gateway.entry.cli._serve import embedder_command, gateway_command, worker_command

__all__ = ["main"]

# Libraries in this stack that would call home at import or use (see docs/architecture.md).
_OFFLINE_ENV = {
    "DO_NOT_TRACK": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    # Progress bars (transformers' "Loading weights") are not log lines: a process's stderr
    # stays one JSON object per line.
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
}


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    "config_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Config file merged over configs/default.yaml (repeatable; or RAGWAY_CONFIG).",
)
@click.version_option(package_name="ragway")
@click.pass_context
def main(ctx: click.Context, config_files: tuple[Path, ...]) -> None:
    """ragway: a self-hosted OpenAI-compatible AI gateway and RAG platform."""
    for name, value in _OFFLINE_ENV.items():
        os.environ.setdefault(name, value)
    ctx.obj = CliContext(config_files)


main.add_command(run_command)
main.add_command(gateway_command)
main.add_command(worker_command)
main.add_command(embedder_command)
main.add_command(db_group)
main.add_command(config_group)
main.add_command(keys_group)
main.add_command(inference_group)
main.add_command(ingest_command)
