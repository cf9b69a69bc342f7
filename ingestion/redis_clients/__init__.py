"""Redis clients for every role, from one place: a URL or Redis Sentinel."""

from __future__ import annotations

from ingestion.redis_clients._connector import MasterLocator, RedisAddress, RedisConnector

__all__ = ["MasterLocator", "RedisAddress", "RedisConnector"]
