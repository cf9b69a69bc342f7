"""``PhoneNumberMatcher``'s walk over a text, done once for all regions at the same time.

``scan`` restates phonenumbers' ``phonenumbermatcher.py`` walk with the library's own private
patterns and asks one ``attempt`` per piece for every region at the same place; regions part
only where their answers differ. Each region sees the pieces in the order and with the
``max_tries`` budget its own matcher would (checked in ``tests/gateway/pii/test_phone.py``);
``missing_internals`` names the phonenumbers internals an upgrade removed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["Attempt", "available", "missing_internals", "scan"]

_log = logging.getLogger(__name__)

# (piece, offset, regions) -> the regions whose ``_parse_and_verify`` accepts the piece, with
# the ``PhoneNumberMatch`` each got
Attempt = Callable[[str, int, list[str]], dict[str, Any]]


_NEEDED = (
    "_PATTERN",
    "_SECOND_NUMBER_START_PATTERN",
    "_SLASH_SEPARATED_DATES",
    "_TIME_STAMPS",
    "_TIME_STAMPS_SUFFIX",
    "_INNER_MATCHES",
    "_UNWANTED_END_CHAR_PATTERN",
)


def missing_internals() -> list[str]:
    """The private names of python-phonenumbers the walk needs that this release lacks.

    The walk restates ``phonenumbermatcher.py`` with its private patterns and asks
    ``PhoneNumberMatcher._parse_and_verify`` about each piece; pyproject pins phonenumbers to
    the release this was checked against, and a test fails naming whatever an upgrade removed.
    """
    from phonenumbers import PhoneNumberMatcher, phonenumbermatcher

    missing = [
        f"phonenumbers.phonenumbermatcher.{name}"
        for name in _NEEDED
        if not hasattr(phonenumbermatcher, name)
    ]
    if not hasattr(PhoneNumberMatcher, "_parse_and_verify"):
        missing.append("phonenumbers.PhoneNumberMatcher._parse_and_verify")
    return missing


def available() -> bool:
    """Whether this phonenumbers still has the internals the walk restates (else: Presidio's,
    which finds the same numbers, several times slower; a warning names what is missing)."""
    missing = missing_internals()
    if missing:
        _log.warning(
            "phonenumbers lacks internals the fast phone scan needs; using Presidio's",
            extra={"missing": missing},
        )
    return not missing


def scan(text: str, regions: Sequence[str], attempt: Attempt, max_tries: int = 65535) -> list[Any]:
    """Every match each region's ``PhoneNumberMatcher(text, region)`` yields (with repeats)."""
    from phonenumbers import phonenumbermatcher

    pm: Any = phonenumbermatcher  # its private patterns are not in the type stubs
    tries = dict.fromkeys(regions, max_tries)
    cursors: dict[int, list[str]] = {0: list(regions)}  # where each region's next search starts
    found: list[Any] = []
    while cursors:
        index = min(cursors)
        group = [r for r in cursors.pop(index) if tries[r] > 0]
        hit = pm._PATTERN.search(text, index) if group else None
        if hit is None:
            continue  # these regions' matchers are done
        start = hit.start()
        candidate = _trim(pm._SECOND_NUMBER_START_PATTERN, text[start : hit.end()])
        matches: dict[str, Any] = {}
        if candidate:  # phonenumbers' min_candidate_length, 1 by default
            matches = _extract(pm, text, candidate, start, group, tries, attempt)
            for region in group:
                if region not in matches:
                    tries[region] -= 1
        for region in group:
            match = matches.get(region)
            if match is not None:
                found.append(match)
            resume = match.end if match is not None else start + len(candidate)
            cursors.setdefault(resume, []).append(region)
    return found


def _extract(
    pm: Any,
    text: str,
    candidate: str,
    offset: int,
    group: list[str],
    tries: dict[str, int],
    attempt: Attempt,
) -> dict[str, Any]:
    """``_extract_match`` for every region of ``group``: region -> match, for those with one."""
    if pm._SLASH_SEPARATED_DATES.search(candidate):
        return {}
    # a time stamp followed by ":mm" (the suffix pattern has no anchor: matching at the
    # position is matching the rest of the text, without copying it)
    following = offset + len(candidate)
    if pm._TIME_STAMPS.search(candidate) and pm._TIME_STAMPS_SUFFIX.match(text, following):
        return {}
    matches = attempt(candidate, offset, group)
    rest = [r for r in group if r not in matches]
    if rest:
        _inner(pm, candidate, offset, rest, tries, attempt, matches)
    return matches


def _inner(
    pm: Any,
    candidate: str,
    offset: int,
    group: list[str],
    tries: dict[str, int],
    attempt: Attempt,
    matches: dict[str, Any],
) -> None:
    """``_extract_inner_match`` for every region of ``group``, adding to ``matches``."""

    def ask(piece: str, at: int, live: list[str]) -> list[str]:
        got = attempt(_trim(pm._UNWANTED_END_CHAR_PATTERN, piece), at, live)
        matches.update(got)
        for region in live:
            if region not in got:
                tries[region] -= 1
        return [r for r in live if r not in got]

    for pattern in pm._INNER_MATCHES:
        group_match = pattern.search(candidate)
        first = True
        while group_match is not None:
            live = [r for r in group if r not in matches and tries[r] > 0]
            if not live:
                break
            if first:
                live = ask(candidate[: group_match.start()], offset, live)
                first = False
            if live:
                ask(group_match.group(1), offset + group_match.start(1), live)
            group_match = pattern.search(candidate, group_match.start() + 1)


def _trim(pattern: Any, candidate: str) -> str:
    """``_trim_after_first_match``: ``candidate`` up to the first match of ``pattern``."""
    found = pattern.search(candidate)
    return candidate[: found.start()] if found else candidate
