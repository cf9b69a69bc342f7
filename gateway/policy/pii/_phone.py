"""Presidio's ``PhoneRecognizer`` with the work shared between its regions.

``FastPhoneRecognizer`` returns what ``PhoneRecognizer.analyze`` returns (same spans, score and
de-duplication), and phonenumbers still verifies every number it reports. It walks the text
once for all regions (``_phone_scan``), skips parses the metadata rules out (``_phone_screen``),
parses a ``+<country code>`` candidate once rather than per region, and builds no explanations.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from gateway.policy.pii._patterns import Hit, dedupe
from gateway.policy.pii._phone_scan import available, scan
from gateway.policy.pii._phone_screen import PhoneScreen

if TYPE_CHECKING:
    from presidio_analyzer import EntityRecognizer

__all__ = ["FastPhoneRecognizer"]

_PLUS_PLAIN = re.compile(r"[ (]*\+[0-9 ().\-/]+")
_NOT_DIGIT = re.compile(r"[^0-9]")


class FastPhoneRecognizer:
    """Runs one Presidio ``PhoneRecognizer`` as described in the module docstring."""

    def __init__(self, recognizer: Any) -> None:
        from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

        self._regions: tuple[str, ...] = tuple(recognizer.supported_regions)
        self._leniency: int = recognizer.leniency
        self._entity: str = recognizer.supported_entities[0]
        self._score: float = recognizer.SCORE
        self._screen = PhoneScreen(self._regions)
        self._country_codes = frozenset(COUNTRY_CODE_TO_REGION_CODE)

    @staticmethod
    def handles(recognizer: EntityRecognizer) -> bool:
        """Presidio's own ``PhoneRecognizer`` (not a subclass that analyses differently), with
        a phonenumbers whose matcher the walk can restate."""
        from presidio_analyzer.predefined_recognizers import PhoneRecognizer

        return (
            isinstance(recognizer, PhoneRecognizer)
            and type(recognizer).analyze is PhoneRecognizer.analyze
            and available()
        )

    def hits(self, text: str) -> list[Hit]:
        """What ``recognizer.analyze(text, ...)`` returns, as hits (no explanations)."""
        return dedupe((self._entity, s, e, self._score) for s, e in self.matches(text))

    def matches(self, text: str, *, max_tries: int = 65535) -> list[tuple[int, int]]:
        """``(start, end)`` of every match of every region's ``PhoneNumberMatcher``."""
        from phonenumbers import PhoneNumberMatcher

        matchers = {
            r: PhoneNumberMatcher(text, r, leniency=self._leniency, max_tries=max_tries)
            for r in self._regions
        }

        def attempt(piece: str, offset: int, regions: list[str]) -> dict[str, Any]:
            """Region -> match, for the regions whose matcher accepts ``piece`` at ``offset``."""
            regions = self._screen.accepting(piece, regions)
            if not regions:
                return {}
            if self._international(piece):
                match = matchers[regions[0]]._parse_and_verify(piece, offset)
                return dict.fromkeys(regions, match) if match is not None else {}
            found = {r: matchers[r]._parse_and_verify(piece, offset) for r in regions}
            return {r: m for r, m in found.items() if m is not None}

        return [(m.start, m.end) for m in scan(text, self._regions, attempt, max_tries)]

    def _international(self, piece: str) -> bool:
        """Written ``+<known country code> ...`` in plain characters: read alike everywhere.

        ``parse`` takes the country code after the plus and reads the rest with that country's
        metadata; the default region is consulted only when the code is unknown (it then
        retries without the plus), which the known-code condition rules out.
        """
        if not _PLUS_PLAIN.fullmatch(piece):
            return False
        digits = _NOT_DIGIT.sub("", piece)
        if not digits or digits[0] == "0":
            return False
        return any(int(digits[:n]) in self._country_codes for n in (1, 2, 3))
