"""The analyzer: every finding of Presidio's recognizers, and what they miss.

- First exactly what ``AnalyzerEngine.analyze(text, entities=<configured>)`` returns (same spans,
  types, scores); recognizers with a window spec run only on trigger windows (``_windows``,
  ``_patterns``, ``_phone``), the rest (NER) on the whole text.
- Then, where no finding of the same entity covers it (``_beyond``): findings on de-obfuscated
  text (``_normalize``), cards and IBANs by checksum (``_checksums``), email addresses
  (``_email``), valid phone numbers touching a word (``_phone_view``).
- Results are cached by the text's digest; windows shared with earlier texts are reused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gateway.policy.pii._cache import LruCache, text_key
from gateway.policy.pii._checksums import find_cards, find_ibans
from gateway.policy.pii._email import EmailFinder
from gateway.policy.pii._normalize import normalize
from gateway.policy.pii._patterns import FastPatternRecognizer, Hit, dedupe
from gateway.policy.pii._phone import FastPhoneRecognizer
from gateway.policy.pii._phone_view import separated
from gateway.policy.pii._presidio import PresidioSetup
from gateway.policy.pii._windows import GATE, WINDOW_SPECS, WindowSpec

if TYPE_CHECKING:
    from presidio_analyzer import EntityRecognizer

__all__ = ["Finding", "PiiAnalyzer"]

_Hits = tuple[tuple[int, int, float], ...]


@dataclass(frozen=True, slots=True)
class Finding:
    """One detected entity: its type, where it is, and the recognizer's score."""

    entity: str
    start: int
    end: int
    score: float


@dataclass(frozen=True, slots=True)
class _Plan:
    index: int
    recognizer: EntityRecognizer
    entity: str
    spec: WindowSpec | None
    hits: Callable[[str], list[Hit]]  # the recognizer's results on a window


class PiiAnalyzer:
    """Built once per process from the Presidio set-up; safe to call from several threads."""

    def __init__(
        self, setup: PresidioSetup, *, score_threshold: float = 0.0, cache_entries: int = 8192
    ) -> None:
        self._setup = setup
        self._threshold = score_threshold
        # whole texts (by digest) first, then the windows of new texts: a window recurs
        # inside texts that differ elsewhere (a signature, an address pasted again)
        self._texts: LruCache[bytes, tuple[Finding, ...]] = LruCache(cache_entries)
        self._cache: LruCache[tuple[int, str], _Hits] = LruCache(cache_entries)
        wanted = set(setup.active)
        plans: list[_Plan] = []
        for index, recognizer in enumerate(setup.recognizers):
            entities = [e for e in recognizer.supported_entities if e in wanted]
            spec = (
                WINDOW_SPECS.get(entities[0]) if len(recognizer.supported_entities) == 1 else None
            )
            plans.append(
                _Plan(index, recognizer, ",".join(entities), spec, self._runner(recognizer))
            )
        self._windowed = tuple(p for p in plans if p.spec is not None)
        self._whole = tuple(p for p in plans if p.spec is None)
        self._phone = next((p for p in self._windowed if p.entity == "PHONE_NUMBER"), None)
        self._checksums = tuple(
            (entity, find)
            for entity, find in (("IBAN_CODE", find_ibans), ("CREDIT_CARD", find_cards))
            if entity in wanted
        )
        self._emails = EmailFinder.offline() if "EMAIL_ADDRESS" in wanted else None

    @property
    def active_entities(self) -> tuple[str, ...]:
        return self._setup.active

    @property
    def inactive_entities(self) -> tuple[str, ...]:
        return self._setup.inactive

    def analyze(self, text: str) -> list[Finding]:
        """Entities in ``text`` (spans in its own coordinates), after Presidio's score
        threshold and de-duplication: Presidio's findings and those it misses."""
        if not text:
            return []
        key = text_key(text)
        known = self._texts.get(key)
        if known is not None:
            return list(known)
        findings = self._analyze(text)
        self._texts.put(key, tuple(findings))
        return findings

    def _analyze(self, text: str) -> list[Finding]:
        hits: list[Hit] = []
        if self._windowed and GATE.search(text) is not None:
            for plan in self._windowed:
                assert plan.spec is not None
                for start, end in plan.spec.windows(text):
                    for hit_start, hit_end, score in self._window_hits(plan, text[start:end]):
                        hits.append((plan.entity, start + hit_start, start + hit_end, score))
        if self._setup.uses_nlp or self._whole:
            hits = self._whole_text(text, hits)
        found = dedupe(hit for hit in hits if hit[3] >= self._threshold)
        found.extend(hit for hit in self._beyond(text, found) if hit[3] >= self._threshold)
        return sorted((Finding(*hit) for hit in found), key=lambda f: (f.start, f.end, f.entity))

    def _beyond(self, text: str, found: list[Hit]) -> list[Hit]:
        """Findings Presidio's recognizers miss, none covered by one in ``found``."""
        norm = normalize(text)
        view = text if norm is None else norm.text
        if GATE.search(view) is None:
            return []
        span = _same_span if norm is None else norm.span
        known = list(found)
        spans = {hit[:3] for hit in found}  # a set: a text may hold thousands of findings
        extra: list[Hit] = []

        def add(hit: Hit) -> None:
            extra.append(hit)
            known.append(hit)
            spans.add(hit[:3])

        for entity, find in self._checksums:
            # a card number's digits may be an IBAN's: the IBAN says what they are
            ibans = [k for k in known if k[0] == "IBAN_CODE"] if entity == "CREDIT_CARD" else []
            for start, end in find(view):
                hit = (entity, *span(start, end), 1.0)
                # Presidio may report a wider span (an IBAN with the word after it): the
                # checked value is reported too, so the mask holds exactly the number
                if hit[:3] not in spans and not _overlaps(hit, ibans, None):
                    add(hit)
        if self._emails is not None:
            for start, end in self._emails.find(view):
                hit = ("EMAIL_ADDRESS", *span(start, end), 1.0)
                if hit[:3] not in spans:
                    add(hit)
        checked = list(extra)
        if norm is not None:  # the recognizers again, where the view differs
            for plan in self._windowed:
                assert plan.spec is not None
                if plan.entity == "EMAIL_ADDRESS" and self._emails is not None:
                    continue  # read from the view above, on the address's own span
                for start, end in plan.spec.windows(view):
                    if not norm.touches(start, end):
                        continue
                    for hit_start, hit_end, score in self._window_hits(plan, view[start:end]):
                        hit = (plan.entity, *norm.span(start + hit_start, start + hit_end), score)
                        others = {e for e, *_ in checked} - {plan.entity}
                        if not _covered(hit, known) and not _overlaps(hit, checked, others):
                            add(hit)
        if self._phone is not None and (blanked := separated(view)) is not None:
            extra.extend(self._phones_by_words(*blanked, span, known))
        return extra

    def _phones_by_words(
        self,
        view: str,
        blanked: list[int],
        span: Callable[[int, int], tuple[int, int]],
        known: list[Hit],
    ) -> list[Hit]:
        """Phone numbers in ``view`` (words next to digits blanked) in windows that hold a
        blanked character, overlapping no other finding."""
        plan = self._phone
        assert plan is not None
        assert plan.spec is not None
        out: list[Hit] = []
        for start, end in plan.spec.windows(view):
            if not any(start <= pos < end for pos in blanked):
                continue
            for hit_start, hit_end, score in self._window_hits(plan, view[start:end]):
                hit = (plan.entity, *span(start + hit_start, start + hit_end), score)
                if not _overlaps(hit, known, None) and not _overlaps(hit, out, None):
                    out.append(hit)
        return out

    def _runner(self, recognizer: EntityRecognizer) -> Callable[[str], list[Hit]]:
        if FastPhoneRecognizer.handles(recognizer):
            return FastPhoneRecognizer(recognizer).hits
        if FastPatternRecognizer.handles(recognizer):
            return FastPatternRecognizer(recognizer).hits

        def presidio(window: str) -> list[Hit]:
            found = self._run(recognizer, window, None)
            return [(r.entity_type, r.start, r.end, float(r.score)) for r in found]

        return presidio

    def _window_hits(self, plan: _Plan, window: str) -> _Hits:
        key = (plan.index, window)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        hits = tuple(
            (s, e, score) for entity, s, e, score in plan.hits(window) if entity == plan.entity
        )
        self._cache.put(key, hits)
        return hits

    def _whole_text(self, text: str, hits: list[Hit]) -> list[Hit]:
        """Presidio's path for NER and unwindowed recognizers, with context enhancement."""
        from presidio_analyzer import RecognizerResult

        results: list[Any] = [RecognizerResult(*hit) for hit in hits]
        nlp_artifacts = None
        if self._setup.uses_nlp:
            nlp_artifacts = self._setup.nlp_engine.process_text(text, self._setup.language)
            for recognizer in self._setup.ner_recognizers:
                results.extend(self._run(recognizer, text, nlp_artifacts))
        for plan in self._whole:
            results.extend(self._run(plan.recognizer, text, nlp_artifacts))
        if nlp_artifacts is not None:
            results = self._enhance(text, results, nlp_artifacts)
        return [(r.entity_type, r.start, r.end, float(r.score)) for r in results]

    def _run(self, recognizer: EntityRecognizer, text: str, nlp_artifacts: Any) -> list[Any]:
        wanted = [e for e in recognizer.supported_entities if e in self._setup.active]
        found: list[Any] = recognizer.analyze(
            text=text, entities=wanted, nlp_artifacts=nlp_artifacts
        )
        return [r for r in found or () if r.entity_type in wanted]

    def _enhance(self, text: str, results: list[Any], nlp_artifacts: Any) -> list[Any]:
        from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer

        recognizers = [*self._setup.recognizers, *self._setup.ner_recognizers]
        enhanced: list[Any] = LemmaContextAwareEnhancer().enhance_using_context(
            text=text, raw_results=results, nlp_artifacts=nlp_artifacts, recognizers=recognizers
        )
        return enhanced


def _same_span(start: int, end: int) -> tuple[int, int]:
    return start, end


def _overlaps(hit: Hit, others: list[Hit], entities: set[str] | None) -> bool:
    """Whether ``hit`` overlaps one of ``others`` of ``entities`` (None: of any entity)."""
    return any(
        o[1] < hit[2] and hit[1] < o[2] and (entities is None or o[0] in entities) for o in others
    )


def _covered(hit: Hit, others: list[Hit]) -> bool:
    """Whether a finding of the same entity holds all of ``hit``."""
    return any(o[0] == hit[0] and o[1] <= hit[1] and hit[2] <= o[2] for o in others)
