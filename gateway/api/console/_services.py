"""What the console's pages read and change, built once in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg_pool import AsyncConnectionPool

from configs import Settings
from gateway.api.collections import CollectionServices
from gateway.api.console._session import SessionStore
from gateway.api.health import ReadinessService
from gateway.policy.audit import AuditStore
from gateway.policy.auth import Authenticator
from gateway.policy.keys import KeyService
from gateway.policy.usage import UsageReport
from ingestion.queue import IngestionQueue

__all__ = ["ConsoleServices"]


@dataclass(frozen=True, slots=True)
class ConsoleServices:
    """The gateway's own services, which the console drives as the admin API does.

    The console holds no state of its own beyond sessions: keys, collections, usage and the
    audit trail are the same objects the HTTP APIs use, so a change made here is the change
    the API would have made (same checks, same events to other processes).
    """

    settings: Settings
    sessions: SessionStore
    authenticator: Authenticator
    keys: KeyService
    usage: UsageReport
    audit: AuditStore
    collections: CollectionServices
    readiness: ReadinessService
    queue: IngestionQueue
    pool: AsyncConnectionPool  # the console's own read-only reports (usage summaries, throughput)
