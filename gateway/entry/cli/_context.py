"""What every CLI command shares: the config files chosen and the settings loaded from them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import click

from configs import CONFIG_ENV, Settings, SettingsError, load_settings
from gateway.entry.runtime import with_running_stack

__all__ = ["CliContext", "pass_cli"]


@dataclass
class CliContext:
    config_files: tuple[Path, ...]

    def settings(self, *, find_running_stack: bool = True) -> Settings:
        """Load settings once; a configuration error ends the command with its message.

        With no ``DATABASE_URL`` / ``REDIS_URL`` configured, the URLs of the stack that
        ``ragway run`` serves from the same data directory are used (``ragway run`` itself
        passes ``find_running_stack=False``: it starts that stack).
        """
        if self.config_files:
            # Child processes (uvicorn workers, the stack's processes) read the same files.
            os.environ[CONFIG_ENV] = os.pathsep.join(str(p.resolve()) for p in self.config_files)
        try:
            settings = load_settings()
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from exc
        if not find_running_stack:
            return settings
        settings, stack = with_running_stack(settings)
        if stack is not None:
            click.echo(
                f"using the stack `ragway run` serves from {settings.data_dir} "
                f"(pid {stack.pid}, gateway {stack.gateway_url})",
                err=True,
            )
        return settings


pass_cli = click.make_pass_decorator(CliContext)
