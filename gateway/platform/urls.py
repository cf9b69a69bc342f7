"""The service URLs a production process needs, with a clear error when one is missing."""

from __future__ import annotations

from configs import Settings, SettingsError

__all__ = ["require_database_url", "require_urls"]


def require_urls(settings: Settings) -> tuple[str, str | None]:
    """Return (database URL, Redis URL) or say which environment variable is missing.

    With ``redis.sentinel`` on, the sentinels name Redis: no ``REDIS_URL`` is needed (None).
    """
    sentinel = settings.redis.sentinel.enabled
    missing = [
        name
        for name, value in (
            ("DATABASE_URL", settings.database.url),
            ("REDIS_URL", settings.redis.url),
        )
        if value is None and not (sentinel and name == "REDIS_URL")
    ]
    if missing:
        raise _missing(missing, settings)
    assert settings.database.url is not None
    if sentinel or settings.redis.url is None:
        return settings.database.url.get_secret_value(), None
    return settings.database.url.get_secret_value(), settings.redis.url.get_secret_value()


def require_database_url(settings: Settings) -> str:
    """Return the database URL or say that ``DATABASE_URL`` is missing."""
    if settings.database.url is None:
        raise _missing(["DATABASE_URL"], settings)
    return settings.database.url.get_secret_value()


def _missing(names: list[str], settings: Settings) -> SettingsError:
    return SettingsError(
        f"{' and '.join(names)} not set, and no `ragway run` is serving from "
        f"{settings.data_dir}: set {'them' if len(names) > 1 else 'it'}, or start the stack "
        "with `ragway run` (`make run`) from this directory (or with the same RAGWAY_DATA_DIR)"
    )
