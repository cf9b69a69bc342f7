"""Which regions cannot accept a phone-number candidate, decided from metadata without parsing.

``PhoneScreen.accepting`` drops a region only when a necessary condition for
``PhoneNumberMatcher`` (``VALID`` leniency) accepting the candidate there fails: for a *plain*
candidate (digits, ``( ) - . /`` and spaces; not starting with the region's international
prefix), none of the national numbers ``parse`` could produce (``_national_forms``, both
branches of every prefix choice) fits the region's valid-number patterns for its length
(``_valid_patterns``). Every other candidate and region is left to the matcher.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["PhoneScreen"]

_PLAIN = re.compile(r"[0-9 ().\-/]+")
_NOT_DIGIT = re.compile(r"[^0-9]")
# the number types ``_number_type_helper`` tries after the general description
_TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)


@dataclass(frozen=True, slots=True, eq=False)  # hashed by identity: shared per country
class _Region:
    country_code: str
    idd: re.Pattern[str] | None  # the international prefix dialled from this region
    # national prefixes (with their transform rule) ``parse`` may apply: the region's own,
    # and that of the country's main region (used once a country code has been stripped)
    prefixes: tuple[tuple[re.Pattern[str], str | None], ...]
    valid: Mapping[int, re.Pattern[str]]  # by length: numbers valid in one of the country's regions
    shortest: int  # fewer digits than this cannot be valid (0 where a rule may add digits)

    @property
    def key(self) -> tuple[Any, ...]:
        """What the verdict depends on (``valid`` follows from the country code)."""
        idd = self.idd.pattern if self.idd is not None else None
        return self.country_code, idd, tuple((p.pattern, rule) for p, rule in self.prefixes)


class PhoneScreen:
    """Built once per process for the recognizer's regions; safe to share between threads."""

    def __init__(self, regions: tuple[str, ...]) -> None:
        self._regions: dict[str, _Region] = {}
        alike: dict[tuple[Any, ...], _Region] = {}
        for code in regions:
            if (spec := _region(code)) is not None:
                # regions that read numbers alike (US and CA) share one spec: one verdict
                self._regions[code] = alike.setdefault(spec.key, spec)

    def accepting(self, candidate: str, regions: list[str]) -> list[str]:
        """``regions`` less those where ``parse(candidate, region)`` cannot give a valid number."""
        if not _PLAIN.fullmatch(candidate):
            return regions
        digits = _NOT_DIGIT.sub("", candidate)
        verdicts: dict[_Region, bool] = {}
        out = []
        for region in regions:
            spec = self._regions.get(region)
            if spec is None:
                out.append(region)
                continue
            verdict = verdicts.get(spec)
            if verdict is None:
                verdict = verdicts[spec] = _may_accept(digits, spec)
            if verdict:
                out.append(region)
        return out


def _may_accept(digits: str, spec: _Region) -> bool:
    if spec.idd is not None and spec.idd.match(digits):
        return True  # dialled abroad: any country's numbers apply
    if len(digits) < spec.shortest:
        return False  # every form is shorter than any valid number
    for form in _national_forms(digits, spec):
        pattern = spec.valid.get(len(form))
        if pattern is not None and pattern.fullmatch(form):
            return True
    return False


def _national_forms(digits: str, spec: _Region) -> set[str]:
    """Every national number ``parse`` can make of ``digits`` (and some it cannot)."""
    forms = {digits}
    if digits.startswith(spec.country_code):
        forms.add(digits[len(spec.country_code) :])
    for _ in range(2):
        for form in list(forms):
            for prefix, rule in spec.prefixes:
                if (found := prefix.match(form)) is None:
                    continue
                forms.add(form[found.end() :])
                if rule:
                    forms.add(found.expand(rule) + form[found.end() :])
    return forms


def _region(code: str) -> _Region | None:
    """What the screen needs of a region; None where it cannot reason about one."""
    from phonenumbers import PhoneMetadata, region_code_for_country_code
    from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

    metadata = PhoneMetadata.metadata_for_region(code)
    if metadata is None or metadata.country_code is None:
        return None
    main = PhoneMetadata.metadata_for_region(region_code_for_country_code(metadata.country_code))
    prefixes = {
        (each.national_prefix_for_parsing, each.national_prefix_transform_rule or None)
        for each in (metadata, main)
        if each is not None and each.national_prefix_for_parsing
    }
    country = [
        PhoneMetadata.metadata_for_region(r)
        for r in COUNTRY_CODE_TO_REGION_CODE.get(metadata.country_code, ())
    ]
    valid = _valid_patterns([m for m in country if m is not None])
    if valid is None:
        return None
    idd = metadata.international_prefix
    return _Region(
        country_code=str(metadata.country_code),
        idd=re.compile(idd) if idd else None,
        prefixes=tuple((re.compile(p), rule) for p, rule in sorted(prefixes, key=str)),
        valid=valid,
        shortest=0 if any(rule for _, rule in prefixes) else min(valid, default=0),
    )


def _valid_patterns(country: list[Any]) -> dict[int, re.Pattern[str]] | None:
    """Per length, one regex matching the numbers valid in one of ``country``'s regions.

    A region's part is ``(?=general$)(?:type|type|...)``: the general description and one
    number type, each where its possible lengths allow ``n`` (a type without lengths allows
    any). None when a region's general description states no lengths (pattern only).
    """
    parts: dict[int, list[str]] = {}
    for metadata in country:
        general = metadata.general_desc
        if general is None or not general.national_number_pattern:
            continue  # such a region validates nothing
        lengths = [n for n in general.possible_length or () if n > 0]
        if not lengths:
            return None
        descs = [getattr(metadata, name) for name in _TYPES]
        descs = [d for d in descs if d is not None and d.national_number_pattern]
        for n in lengths:
            types = [
                f"(?:{d.national_number_pattern})"
                for d in descs
                if not d.possible_length or n in d.possible_length
            ]
            if types:
                lookahead = f"(?=(?:{general.national_number_pattern})\\Z)"
                parts.setdefault(n, []).append(f"{lookahead}(?:{'|'.join(types)})")
    return {n: re.compile("|".join(f"(?:{p})" for p in ps)) for n, ps in parts.items()}
