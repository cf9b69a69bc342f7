"""Settings of Redis Sentinel: where every Redis role finds its current master."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from configs._strict import Strict

__all__ = ["SentinelSettings"]


class SentinelSettings(Strict):
    """Sentinels that monitor one master (``service_name``); off while ``addresses`` is empty.

    On: ``REDIS_URL`` is not used; every Redis client (quotas, key invalidation, console
    sessions, the Dramatiq broker) asks the sentinels for the master on each new connection,
    so after a fail-over they reconnect to the new one. ``password`` is a secret: only
    ``REDIS_SENTINEL_PASSWORD`` sets it (the data nodes' own is ``REDIS_PASSWORD``).
    """

    addresses: tuple[str, ...] = Field(
        default=(),
        description="sentinels as host:port; empty: no Sentinel (REDIS_URL names the server)",
    )
    service_name: str = Field(
        default="mymaster", min_length=1, description="the master's name in the sentinels"
    )
    password: SecretStr | None = Field(
        default=None,
        description="password of the sentinels themselves; only REDIS_SENTINEL_PASSWORD sets it",
    )
    socket_timeout_s: float = Field(
        default=0.5,
        gt=0,
        le=60,
        description="one question to one sentinel; an unanswered sentinel is skipped for the next",
    )
    db: int = Field(default=0, ge=0, le=15, description="database number on the master")

    @field_validator("addresses")
    @classmethod
    def _host_port(cls, addresses: tuple[str, ...]) -> tuple[str, ...]:
        for address in addresses:
            host, sep, port = address.rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{address!r} is not host:port")
        return addresses

    @property
    def enabled(self) -> bool:
        return bool(self.addresses)

    def hosts(self) -> list[tuple[str, int]]:
        """``addresses`` as (host, port) pairs (an IPv6 host in brackets loses them)."""
        pairs = []
        for address in self.addresses:
            host, _, port = address.rpartition(":")
            pairs.append((host.strip("[]"), int(port)))
        return pairs
