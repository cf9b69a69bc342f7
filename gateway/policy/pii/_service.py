"""The PII step: built once per process, one ``PiiSession`` per request."""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from configs import PiiSettings
from gateway.policy.pii import _metrics
from gateway.policy.pii._analyzer import PiiAnalyzer
from gateway.policy.pii._errors import PiiBlockedError, PiiUncheckableError
from gateway.policy.pii._masker import Masker
from gateway.policy.pii._policy import PiiPolicy, PolicyResolver, Trust
from gateway.policy.pii._presidio import build_presidio
from gateway.policy.pii._request import VOCABULARY, Slot, path, slots, split_data, where
from gateway.policy.pii._restore import ChunkRestorer, restore_response
from gateway.policy.pii._vault import PlaceholderVault
from gateway.policy.pipeline import PiiOutput

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

    async def protect_body(self, fields: str, body: dict[str, Any]) -> dict[str, Any]:
        """A copy of ``body`` with its outgoing strings masked (``body`` itself when unchanged).

        Which strings: the row ``fields`` of ``FIELDS`` in ``_request`` (the family's
        ``Capabilities.pii``, e.g. ``"chat.completions"``). Raises ``PiiBlockedError`` naming the
        blocked entity types (``param``: the first field holding one), ``PiiUncheckableError``
        for token ids and for bodies nested too deeply to walk.
        """
        if self.policy.allows_everything:
            return body
        try:
            found = slots(fields, body, embeddings=self._settings.embeddings_input)
            texts = [
                c[k] if kind == "text" else _slot_text((c, k, kind, w)) for c, k, kind, w in found
            ]
        except RecursionError as exc:
            raise _too_deep() from exc
        if not found:
            return body
        size = sum(map(len, texts))
        changed = await self._run(lambda: self._protect(found, texts, fields), size)
        if not changed:
            return body  # nothing to mask: no copy (the common case, on the hot path)
        return _rebuilt(body, [(found[i], value) for i, value in changed.items()])

    async def protect_texts(self, texts: Sequence[str]) -> list[str]:
        """Other outgoing text of this request, e.g. retrieved document context.

        Uses the request's placeholders, so values are restored in the answer alike.
        """
        if self.policy.allows_everything or not texts:
            return list(texts)
        holder: list[Any] = list(texts)
        found: list[Slot] = [(holder, i, "text", None) for i in range(len(holder))]
        changed = await self._run(lambda: self._protect(found, holder, None), sum(map(len, holder)))
        return [str(changed.get(i, text)) for i, text in enumerate(holder)]

    def restore_response(self, output: PiiOutput, response: dict[str, Any]) -> None:
        restore_response(output, response, self.vault)

    def chunk_restorer(self, output: PiiOutput) -> ChunkRestorer:
        return ChunkRestorer(self.vault, output)

    async def _run(self, work: Callable[[], _T], size: int) -> _T:
        started = time.perf_counter()
        if size > self._settings.offload_chars:
            result = await asyncio.to_thread(work)  # large texts: keep the loop serving others
        else:
            result = work()
        _metrics.SECONDS.observe(time.perf_counter() - started)
        return result

    def _protect(self, found: list[Slot], texts: list[str], fields: str | None) -> dict[int, Any]:
        """The masked value of each slot that changed, by index (the slots stay as they are)."""
        self.vault.reserve(texts)
        masker = self._masker
        before = Counter(masker.counts) if masker.counts else None  # usually the first call
        blocked_at: Any = None
        changed: dict[int, Any] = {}
        try:
            for index, slot in enumerate(found):
                container, key, kind, link = slot
                if kind == "text":
                    old = container[key]
                    new = masker.text(old)
                else:
                    old = key if kind == "key" else container[key]
                    new = self._one(slot)
                if new is not old and new != old:
                    changed[index] = new
                if blocked_at is None and masker.blocked:
                    blocked_at = link
        except RecursionError as exc:
            raise _too_deep() from exc
        if masker.counts:
            seen = masker.counts if before is None else masker.counts - before
            for (entity, action), n in seen.items():
                _metrics.ENTITIES.labels(entity=entity, action=action).inc(n)
        if masker.blocked:
            _metrics.BLOCKED.inc()
            error = PiiBlockedError(masker.blocked)
            error.param = where(blocked_at, fields)
            raise error
        return changed

    def _one(self, slot: Slot) -> Any:
        container, key, kind, _ = slot
        masker = self._masker
        if kind == "text":
            return masker.text(container[key])
        if kind == "json":
            return masker.json_text(container[key])
        if kind == "key":
            return masker.text(key)
        if kind == "data":
            value: str = container[key]
            head, payload = split_data(value)
            masked = masker.text(head) if head else head
            return value if masked == head else masked + payload
        return masker.tree(container[key], skip=VOCABULARY)


def _rebuilt(body: dict[str, Any], changed: list[tuple[Slot, Any]]) -> dict[str, Any]:
    """A copy of ``body`` with the changed values in place, copied along their paths only."""
    copied = dict(body)
    fresh = {id(copied)}  # containers copied already (the client's body stays as sent)
    # values first, under the field names the client sent; then renamed unknown fields
    for (_, _, kind, link), value in sorted(changed, key=lambda item: item[0][2] == "key"):
        *parts, last = path(link)
        parent: Any = copied
        for part in parts:
            child = parent[part]
            if id(child) not in fresh:
                child = parent[part] = copy.copy(child)
                fresh.add(id(child))
            parent = child
        if kind == "key":
            parent[value] = parent.pop(last)
        else:
            parent[last] = value
    return copied


def _slot_text(slot: Slot) -> str:
    """The slot's text as one string: for placeholder reservation and the offload size."""
    container, key, kind, _ = slot
    if kind == "key":
        return str(key)
    value = container[key]
    if kind == "tree":
        return "\n".join(_strings(value))
    if kind == "data":
        return split_data(value)[0]
    return str(value)


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _strings(value)
    elif isinstance(node, int | float) and not isinstance(node, bool):
        yield str(node)


def _too_deep() -> PiiUncheckableError:
    return PiiUncheckableError(
        "the request is nested too deeply to be checked for personal data",
        code="pii_uncheckable",
    )
