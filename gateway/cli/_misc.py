"""``ragway config`` and ``ragway keys``."""

from __future__ import annotations

import asyncio
import json

import click

from gateway.cli._context import CliContext, pass_cli
from gateway.keys import ensure_admin_key

__all__ = ["config_group", "keys_group"]


@click.group("config")
def config_group() -> None:
    """Inspect the configuration."""


@config_group.command("check")
@pass_cli
def check_command(cli: CliContext) -> None:
    """Validate the configuration and print the effective settings (secrets masked)."""
    settings = cli.settings()
    click.echo(json.dumps(settings.model_dump(mode="json"), indent=2))


@click.group("keys")
def keys_group() -> None:
    """API keys."""


@keys_group.command("bootstrap")
@pass_cli
def bootstrap_command(cli: CliContext) -> None:
    """Create the first admin key if none exists (or register RAGWAY_ADMIN_KEY)."""
    settings = cli.settings()
    if settings.database.url is None:
        raise click.ClickException("DATABASE_URL is not set")
    admin = settings.admin_key.get_secret_value() if settings.admin_key else None
    result = asyncio.run(ensure_admin_key(settings.database.url.get_secret_value(), admin))
    if result.plaintext:
        click.echo(f"created admin key (shown once): {result.plaintext}")
    else:
        click.echo(f"admin key {result.display_prefix}... is in place")
