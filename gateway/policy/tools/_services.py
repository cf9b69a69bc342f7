"""The guard services of a gateway process: the PII step, the tool checks, the audit writer.

``open`` loads Presidio (in a thread: seconds) and starts the audit writer; ``hooks`` are
registered in the pipeline; ``close`` writes out the audit events still queued.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from psycopg_pool import AsyncConnectionPool

from configs import Settings
from gateway.policy.pipeline import Hook
from gateway.policy.tools._audit_writer import AuditWriter
from gateway.policy.tools._hooks import ToolRequestHook, ToolResponseHook

__all__ = ["GuardServices"]


@dataclass(slots=True)
class GuardServices:
    audit: AuditWriter
    _hooks: list[Hook]

    @classmethod
    async def open(cls, settings: Settings, *, pool: AsyncConnectionPool) -> GuardServices:
        audit = AuditWriter(pool, settings.tools.audit)
        hooks: list[Hook] = [
            ToolRequestHook(settings.tools, audit),
            ToolResponseHook(settings.tools, audit),
        ]
        if settings.pii.enabled:
            from gateway.policy.pii import PiiService
            from gateway.policy.pii._hook import PiiHook

            service = await asyncio.to_thread(PiiService.from_settings, settings.pii)
            hooks.append(PiiHook(service, audit))
        audit.start()
        return cls(audit, hooks)

    def hooks(self) -> list[Hook]:
        return list(self._hooks)

    async def close(self) -> None:
        await self.audit.close()
