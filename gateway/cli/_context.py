"""What every CLI command shares: the config files chosen and the settings loaded from them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import click

from configs import CONFIG_ENV, Settings, SettingsError, load_settings

__all__ = ["CliContext", "pass_cli"]


@dataclass
class CliContext:
    config_files: tuple[Path, ...]

    def settings(self) -> Settings:
        """Load settings once; a configuration error ends the command with its message."""
        if self.config_files:
            # Child processes (uvicorn workers, the stack's processes) read the same files.
            os.environ[CONFIG_ENV] = os.pathsep.join(str(p.resolve()) for p in self.config_files)
        try:
            return load_settings()
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from exc


pass_cli = click.make_pass_decorator(CliContext)
