"""``ragway run``: the whole stack on this machine, in the foreground."""

from __future__ import annotations

import signal
import sys
import threading

import click

from configs import SettingsError, configure_logging
from gateway.entry.cli._context import CliContext, pass_cli
from gateway.entry.runtime import AlreadyRunningError, StackError, Supervisor
from ingestion.errors import IngestionError

__all__ = ["run_command"]


@click.command("run")
@pass_cli
def run_command(cli: CliContext) -> None:
    """Run gateway, worker and (unless DATABASE_URL / REDIS_URL are set) embedded Postgres
    and Redis under the data directory. Ctrl-C stops them all."""
    settings = cli.settings(find_running_stack=False)
    configure_logging(settings.logging.model_copy(update={"format": "text"}), process="run")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        code = Supervisor(settings, say=lambda line: click.echo(line)).run(stop)
    except (AlreadyRunningError, StackError, SettingsError, IngestionError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("ragway stopped")
    sys.exit(code)
