"""The service URLs a production process needs, with a clear error when one is missing."""

from __future__ import annotations

from configs import Settings, SettingsError

__all__ = ["require_urls"]


def require_urls(settings: Settings) -> tuple[str, str]:
    """Return (database URL, Redis URL) or say which environment variable is missing."""
    missing = [
        name
        for name, value in (
            ("DATABASE_URL", settings.database.url),
            ("REDIS_URL", settings.redis.url),
        )
        if value is None
    ]
    if missing:
        raise SettingsError(
            f"{' and '.join(missing)} not set: this process needs them "
            "(`ragway run` starts an embedded stack and sets them for the processes it starts)"
        )
    assert settings.database.url is not None
    assert settings.redis.url is not None
    return settings.database.url.get_secret_value(), settings.redis.url.get_secret_value()
