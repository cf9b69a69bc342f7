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


@config_group.command("system-packages")
@pass_cli
def system_packages_command(cli: CliContext) -> None:
    """Print the Debian packages the configuration needs and this host lacks, one per line
    (OCR: tesseract-ocr and each language's data); nothing when none are missing.

    ``make run`` installs what this prints (as root, or through passwordless sudo).
    """
    from ingestion.parsing import missing_system_packages

    for package in missing_system_packages(cli.settings().ingestion.parsing):
        click.echo(package)
