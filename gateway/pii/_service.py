"""The PII step: built once per process, one ``PiiSession`` per request."""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from configs import PiiSettings
from gateway.pii import _metrics
from gateway.pii._analyzer import PiiAnalyzer
from gateway.pii._errors import PiiBlockedError
from gateway.pii._masker import Masker
from gateway.pii._policy import PiiPolicy, PolicyResolver, Trust
from gateway.pii._presidio import build_presidio
from gateway.pii._request import Slot, slots
from gateway.pii._restore import ChunkRestorer, restore_response
from gateway.pii._vault import PlaceholderVault

_T = TypeVar("_T")

__all__ = ["PiiService", "PiiSession"]

_log = logging.getLogger(__name__)


class PiiService:
    """Holds the analyzer and the policies; hands out per-request sessions."""

    def __init__(self, settings: PiiSettings, analyzer: PiiAnalyzer) -> None:
        self._settings = settings
        self._analyzer = analyzer
        self._policies = PolicyResolver(settings)

    @classmethod
    def from_settings(cls, settings: PiiSettings) -> PiiService:
        """Loads Presidio (seconds, once per process)."""
        analyzer = PiiAnalyzer(
            build_presidio(settings),
            score_threshold=settings.score_threshold,
            cache_entries=settings.cache_entries,
        )
        return cls(settings, analyzer)

    @property
    def analyzer(self) -> PiiAnalyzer:
        return self._analyzer

    def policy_exists(self, name: str) -> bool:
        return self._policies.known(name)

    def session(self, *, trust: Trust, key_policy: str | None) -> PiiSession:
        """A request's session; an unknown key policy raises ``PiiPolicyError``."""
        policy = self._policies.resolve(trust=trust, key_policy=key_policy)
        return PiiSession(self._settings, self._analyzer, policy)


class PiiSession:
    """One request: masks what leaves, restores what comes back, counts what it saw."""

    def __init__(self, settings: PiiSettings, analyzer: PiiAnalyzer, policy: PiiPolicy) -> None:
        self._settings = settings
        self.policy = policy
        self.vault = PlaceholderVault()
        self._masker = Masker(analyzer, policy, self.vault)

    @property
    def counts(self) -> Counter[tuple[str, str]]:
        """(entity type, action) -> occurrences; never values."""
        return self._masker.counts

    def entity_counts(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for (entity, _), n in self._masker.counts.items():
            totals[entity] += n
        return dict(totals)

    async def protect_body(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        """A copy of ``body`` with its outgoing texts masked (``body`` itself when unchanged).

        Raises ``PiiBlockedError`` naming the blocked entity types, ``PiiUncheckableError``
        for token-id input.
        """
        if self.policy.allows_everything:
            return body
        embeddings = self._settings.embeddings_input
        found = list(slots(endpoint, body, embeddings=embeddings))
        if not found:
            return body
        size = sum(len(c[k]) for c, k, _ in found)
        texts = await self._run(lambda: self._protect(found), size)
        if all(text == c[k] for text, (c, k, _) in zip(texts, found, strict=True)):
            return body  # nothing to mask: no copy (the common case, on the hot path)
        copied = copy.deepcopy(body)
        for (container, key, _), text in zip(
            slots(endpoint, copied, embeddings=embeddings), texts, strict=True
        ):
            container[key] = text
        return copied

    async def protect_texts(self, texts: Sequence[str]) -> list[str]:
        """Other outgoing text of this request, e.g. retrieved document context.

        Uses the request's placeholders, so values are restored in the answer alike.
        """
        if self.policy.allows_everything or not texts:
            return list(texts)
        holder: list[Any] = list(texts)
        found: list[Slot] = [(holder, i, "text") for i in range(len(holder))]
        return await self._run(lambda: self._protect(found), sum(len(t) for t in texts))

    def restore_response(self, endpoint: str, response: dict[str, Any]) -> None:
        restore_response(endpoint, response, self.vault)

    def chunk_restorer(self, endpoint: str) -> ChunkRestorer:
        return ChunkRestorer(self.vault, endpoint)

    async def _run(self, work: Callable[[], _T], size: int) -> _T:
        started = time.perf_counter()
        if size > self._settings.offload_chars:
            result = await asyncio.to_thread(work)  # large texts: keep the loop serving others
        else:
            result = work()
        _metrics.SECONDS.observe(time.perf_counter() - started)
        return result

    def _protect(self, found: list[Slot]) -> list[str]:
        """The masked text of every slot (the slots themselves are left as they are)."""
        self.vault.reserve(container[key] for container, key, _ in found)
        masker = self._masker
        before = Counter(masker.counts) if masker.counts else None  # usually the first call
        texts = [
            masker.json_text(container[key]) if kind == "json" else masker.text(container[key])
            for container, key, kind in found
        ]
        if masker.counts:
            seen = masker.counts if before is None else masker.counts - before
            for (entity, action), n in seen.items():
                _metrics.ENTITIES.labels(entity=entity, action=action).inc(n)
        if self._masker.blocked:
            _metrics.BLOCKED.inc()
            raise PiiBlockedError(self._masker.blocked)
        return texts
