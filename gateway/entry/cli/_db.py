"""``ragway db``: schema migrations."""

from __future__ import annotations

import asyncio

import click

from configs import SettingsError
from gateway.entry.cli._context import CliContext, pass_cli
from gateway.platform.urls import require_database_url
from ingestion.db import applied_migrations, migrate
from ingestion.errors import IngestionError

__all__ = ["db_group"]


@click.group("db")
def db_group() -> None:
    """Database schema: apply migrations, show their state."""


def _database_url(cli: CliContext) -> str:
    try:
        return require_database_url(cli.settings())
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


@db_group.command("migrate")
@pass_cli
def migrate_command(cli: CliContext) -> None:
    """Apply pending migrations (safe to run from several hosts at once)."""
    try:
        applied = asyncio.run(migrate(_database_url(cli)))
    except IngestionError as exc:
        raise click.ClickException(str(exc)) from exc
    for migration in applied:
        click.echo(f"applied {migration.version:04d}_{migration.name}")
    click.echo(f"database is up to date ({len(applied)} applied now)")


@db_group.command("status")
@pass_cli
def status_command(cli: CliContext) -> None:
    """List migrations and whether each is applied."""
    try:
        states = asyncio.run(applied_migrations(_database_url(cli)))
    except IngestionError as exc:
        raise click.ClickException(str(exc)) from exc
    pending = 0
    for state in states:
        when = state.applied_at.isoformat(timespec="seconds") if state.applied_at else "pending"
        pending += state.applied_at is None
        click.echo(f"{state.version:04d}  {state.name:<32} {when}")
    click.echo(f"{pending} pending" if pending else "up to date")
