"""Trigger windows: the parts of a text where each pattern recognizer can possibly match.

A ``WindowSpec`` gives, per entity type, a *trigger* every match must contain and a *run class*
of the characters a match consists of; the recognizer then runs only on runs holding a trigger,
plus one character each side for its look-arounds, and must find exactly what it finds on the
whole text (``tests/gateway/pii`` checks this against ``AnalyzerEngine``). The phone window
also takes the run before and the word and run after, for extensions ("ext. 12").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import regex

__all__ = ["GATE", "WINDOW_SPECS", "WindowSpec", "min_phone_digits"]

# Characters a phone number's main part may hold: everything but letters and line breaks,
# plus the letter-like characters phonenumbers treats as punctuation.
_PHONE_RUN = r"(?:[^\n\p{L}]|[xX\uff58\uff38\u30fc])"  # x, X, fullwidth x/X, prolonged mark


@dataclass(frozen=True, slots=True)
class WindowSpec:
    """Trigger and run class of one entity type's recognizer (see the module docstring)."""

    trigger: regex.Pattern[str]
    run: regex.Pattern[str]
    run_back: regex.Pattern[str]
    tail: regex.Pattern[str] | None = None
    lead: regex.Pattern[str] | None = None

    @classmethod
    def of(
        cls,
        trigger: str,
        run_class: str,
        *,
        tail: str | None = None,
        lead: str | None = None,
    ) -> WindowSpec:
        flags = regex.IGNORECASE | regex.DOTALL | regex.MULTILINE
        return cls(
            trigger=regex.compile(trigger, flags),
            run=regex.compile(f"{run_class}*", flags),
            run_back=regex.compile(f"{run_class}*", flags | regex.REVERSE),
            tail=regex.compile(tail, flags) if tail else None,
            lead=regex.compile(lead, flags | regex.REVERSE) if lead else None,
        )

    def windows(self, text: str) -> list[tuple[int, int]]:
        """Disjoint, sorted ``(start, end)`` windows that hold every possible match."""
        out: list[tuple[int, int]] = []
        size = len(text)
        pos = 0
        while (found := self.trigger.search(text, pos)) is not None:
            left = _back(self.run_back, text, found.start())
            if self.lead is not None:
                left = _back(self.lead, text, left)
            right = _forward(self.run, text, found.end())
            if self.tail is not None:
                right = _forward(self.tail, text, right)
            # one character each side: the look-arounds of every recognizer reach no further
            start, end = max(0, left - 1), min(size, right + 1)
            if out and start <= out[-1][1]:
                out[-1] = (out[-1][0], max(end, out[-1][1]))
            else:
                out.append((start, end))
            pos = max(right, found.end())
        return out


def _back(pattern: regex.Pattern[str], text: str, pos: int) -> int:
    """Start of the (reverse, possibly empty) match of ``pattern`` that ends at ``pos``."""
    found = pattern.match(text, 0, pos)
    return pos if found is None else found.start()


def _forward(pattern: regex.Pattern[str], text: str, pos: int) -> int:
    found = pattern.match(text, pos)
    return pos if found is None else found.end()


def min_phone_digits() -> int:
    """The fewest digits a number phonenumbers calls valid can have (from its metadata).

    Computed over every region's number types, counting the country code for numbers written
    internationally. ``DE`` has valid four-digit numbers, so this is 4 today.
    """
    from phonenumbers import PhoneMetadata
    from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE, SUPPORTED_REGIONS

    types = (
        "fixed_line",
        "mobile",
        "toll_free",
        "premium_rate",
        "shared_cost",
        "personal_number",
        "voip",
        "pager",
        "uan",
        "voicemail",
    )

    def shortest(metadata: object) -> int | None:
        general = [n for n in metadata.general_desc.possible_length if n > 0]  # type: ignore[attr-defined]
        lengths: list[int] = []
        for name in types:
            desc = getattr(metadata, name)
            if desc is None or desc.national_number_pattern is None:
                continue
            lengths.extend([n for n in (desc.possible_length or ()) if n > 0] or general)
        return min(lengths) if lengths else None

    best = 99
    for region in SUPPORTED_REGIONS:
        metadata = PhoneMetadata.metadata_for_region(region)
        if metadata is not None and (n := shortest(metadata)) is not None:
            best = min(best, n)  # written nationally: no country code
    for code, regions in COUNTRY_CODE_TO_REGION_CODE.items():
        if "001" in regions:
            metadata = PhoneMetadata.metadata_for_nongeo_region(code)
            if metadata is not None and (n := shortest(metadata)) is not None:
                best = min(best, n + len(str(code)))
    return best


def _phone_spec() -> WindowSpec:
    digits = min_phone_digits()
    return WindowSpec.of(
        rf"\d(?:{_PHONE_RUN}{{0,4}}?\d){{{digits - 1}}}",
        _PHONE_RUN,
        # an extension word and what follows it ("ext. 12", "anexo 3", "доб 4")
        tail=rf"\p{{L}}{{0,12}}{_PHONE_RUN}*",
        # the run before, when only a short word separates it (its extension may reach here)
        lead=rf"(?:{_PHONE_RUN}*\p{{L}}{{1,12}})?",
    )


def _specs() -> Mapping[str, WindowSpec]:
    return {
        "EMAIL_ADDRESS": WindowSpec.of(r"@", r"\S"),
        "CREDIT_CARD": WindowSpec.of(r"\d(?:[- ]?\d){12}", r"[\d\- ]"),
        "US_SSN": WindowSpec.of(r"\d(?:[- .]?\d){8}", r"[\d\- .]"),
        "IP_ADDRESS": WindowSpec.of(r"::|[0-9a-f]:[0-9a-f]|\d\.\d", r"[\w:.%/]"),
        "IBAN_CODE": WindowSpec.of(r"[a-z]{2}[0-9]{2}(?:[ -]?[a-z0-9]{4}){2}", r"[a-z0-9 \-]"),
        "PHONE_NUMBER": _phone_spec(),
    }


WINDOW_SPECS: Mapping[str, WindowSpec] = _specs()

# Every trigger above holds a digit, '@' or ':'; a text without any needs no windowed recognizer.
GATE = regex.compile(r"[\d@:]")
