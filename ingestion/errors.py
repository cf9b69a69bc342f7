"""The ingestion package's exception tree; callers translate these at their boundary."""

from __future__ import annotations

__all__ = ["DatabaseUnavailableError", "IngestionError", "MigrationError"]


class IngestionError(Exception):
    """Base of every error raised by the ingestion package."""


class DatabaseUnavailableError(IngestionError):
    """Postgres could not be reached (or did not answer) in time."""


class MigrationError(IngestionError):
    """The schema cannot be brought to this release's version."""
