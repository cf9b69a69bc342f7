"""The PII step as a pipeline hook: masks what goes upstream, restores what comes back."""

from __future__ import annotations

from typing import Any, ClassVar

from gateway.policy.audit import AuditEvent, AuditSink
from gateway.policy.pii._errors import PiiBlockedError
from gateway.policy.pii._policy import Trust
from gateway.policy.pii._restore import ChunkRestorer
from gateway.policy.pii._service import PiiService, PiiSession
from gateway.policy.pipeline import Call, Hook, Stage

__all__ = ["PiiHook"]


def _trust(call: Call) -> Trust:
    """The strictest trust level the request may reach (fallbacks included)."""
    route = call.route
    if route is None or any(d.trust == "external" for d in route.deployments):
        return "external"
    return "local"


class PiiHook(Hook):
    """Stage PII, for families whose ``Capabilities.pii`` names field rules.

    Its state in the call is the request's ``PiiSession`` (and, once a stream sends a chunk,
    its ``ChunkRestorer``); ``call.remask`` lets later steps see text as the upstream did.
    Audit rows hold entity counts only.
    """

    name: ClassVar[str] = "pii"
    stage: ClassVar[Stage] = Stage.PII

    def __init__(self, service: PiiService, audit: AuditSink) -> None:
        self._service = service
        self._audit = audit

    async def on_request(self, call: Call) -> None:
        fields = call.capabilities.pii
        if not fields or call.principal is None:
            return
        session = self._service.session(trust=_trust(call), key_policy=call.principal.pii_policy)
        call.put(session)
        call.remask = session.vault.remask
        call.restore = session.vault.restore
        call.protect_texts = session.protect_texts
        try:
            call.body = await session.protect_body(fields, call.body)
        except PiiBlockedError:
            self._record(call, session, "blocked")
            raise
        if session.counts:
            self._record(call, session, "checked")

    def span_attributes(self, call: Call) -> dict[str, Any] | None:
        """Findings by entity type (counts; never a value); no span when nothing was found
        (nothing masked, nothing to restore)."""
        session = call.find(PiiSession)
        if session is None or not session.counts:
            return None
        attributes: dict[str, Any] = {}
        for (entity, _action), n in session.counts.items():
            key = f"ragway.pii.{entity.lower()}"
            attributes[key] = attributes.get(key, 0) + n
        attributes["ragway.pii.findings"] = sum(session.counts.values())
        return attributes

    async def on_response(self, call: Call, response: dict[str, Any]) -> None:
        session = call.find(PiiSession)
        if session is not None:
            session.restore_response(call.capabilities.pii_output, response)

    def wants_chunks(self, call: Call) -> bool:
        session = call.find(PiiSession)  # placeholders are all made before the stream starts
        return session is not None and bool(session.vault)

    async def on_chunk(self, call: Call, chunk: dict[str, Any]) -> None:
        restorer = call.find(ChunkRestorer)
        if restorer is None:
            session = call.find(PiiSession)
            if session is None or not session.vault:
                return
            restorer = session.chunk_restorer(call.capabilities.pii_output)
            call.put(restorer)
        restorer(chunk)

    def _record(self, call: Call, session: PiiSession, decision: str) -> None:
        counts: dict[str, dict[str, int]] = {}
        for (entity, action), n in session.counts.items():
            counts.setdefault(entity, {})[action] = n
        self._audit.record(
            AuditEvent(
                kind="pii",
                key_id=call.principal.key_id if call.principal else None,
                subject=session.policy.name,
                decision=decision,
                reason=", ".join(sorted(counts)),
                stage="request",
                request_id=call.request_id,
                model=call.model,
                details={"entities": counts},
            )
        )
