"""``ragway config``."""

from __future__ import annotations

import json

import click

from gateway.entry.cli._context import CliContext, pass_cli

__all__ = ["config_group"]


@click.group("config")
def config_group() -> None:
    """Inspect the configuration."""


@config_group.command("check")
@pass_cli
def check_command(cli: CliContext) -> None:
    """Validate the configuration and print the effective settings (secrets masked)."""
    settings = cli.settings()
    click.echo(json.dumps(settings.model_dump(mode="json"), indent=2))
