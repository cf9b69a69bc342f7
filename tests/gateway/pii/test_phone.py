"""The fast phone recognizer gives what Presidio's ``PhoneRecognizer`` gives, and its screen
never rules out a number that python-phonenumbers would accept."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberMatcher, PhoneNumberType
from presidio_analyzer.predefined_recognizers import PhoneRecognizer

from gateway.policy.pii._phone import FastPhoneRecognizer
from gateway.policy.pii._phone_screen import PhoneScreen

DEFAULT = PhoneRecognizer.DEFAULT_SUPPORTED_REGIONS
# plus regions whose metadata the screen must also get right: a national prefix rule that
# adds digits (AR, MX), four-digit numbers (AT), kept leading zeros (IT), 8 as prefix (RU)
OTHERS = ("AR", "MX", "AT", "IT", "RU", "JP", "AU")
PLAIN = set("0123456789 ().-/")


def _formats(number: phonenumbers.PhoneNumber) -> Iterator[str]:
    nsn = phonenumbers.national_significant_number(number)
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)[1:]
    code = str(number.country_code)
    yield phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    yield phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    yield phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)[1:]
    yield from (e164, "00" + e164, "011" + e164, "0" + nsn, "1" + nsn, "8" + nsn, "90" + nsn)
    yield from (nsn, nsn[:-1], nsn[:-2], nsn + "7", nsn[1:], f"({nsn[:3]}) {nsn[3:]}")
    yield from (f"{code} 0{nsn}", f"{code} 1{nsn}", f"{code}00{nsn}", f"00{code}0{nsn}")


def _examples(seed: int, per_region: int) -> list[str]:
    """Example numbers of every region, written in many ways, some of them broken."""
    rng = random.Random(seed)
    kinds = [PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE]
    out: list[str] = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in kinds:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                out.extend(rng.sample(list(_formats(number)), per_region))
    return out


def _digit_soup(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        groups = [
            "".join(rng.choice("0123456789") for _ in range(rng.randrange(1, 6)))
            for _ in range(rng.randrange(1, 5))
        ]
        out.append("".join(g + rng.choice([" ", "-", ".", "/", "", ") "]) for g in groups))
    return out


def _accepted(candidate: str, region: str) -> bool:
    try:
        number = phonenumbers.parse(candidate, region, keep_raw_input=True)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(number))


def test_the_screen_never_rules_out_a_valid_number() -> None:
    regions = [*DEFAULT, *OTHERS]
    screen = PhoneScreen(tuple(regions))
    candidates = [
        c.strip() for c in _examples(5, 4) + _digit_soup(6, 1500) if set(c) <= PLAIN and c.strip()
    ]
    assert len(candidates) > 2500
    ruled_out = 0
    for candidate in candidates:
        kept = set(screen.accepting(candidate, regions))
        for region in regions:
            if region not in kept:
                ruled_out += 1
                assert not _accepted(candidate, region), (candidate, region)
    # and it does rule out most pieces: that is what makes it worth having
    assert ruled_out > 0.6 * len(candidates) * len(regions)


def test_the_screen_reasons_only_about_plain_candidates() -> None:
    screen = PhoneScreen(DEFAULT)
    assert screen.accepting("1693", list(DEFAULT)) == ["DE"]  # DE has four-digit numbers
    assert screen.accepting("4111 1111 1111 1111", list(DEFAULT)) == []
    assert screen.accepting("(212) 555-0142", ["US", "CA", "GB", "FR"]) == ["US", "CA"]
    fullwidth = "\uff11\uff16\uff19\uff13"
    for text in ("+49 1693", "1693 ext. 2", "1693x2", "1693#", fullwidth, "1693;ext=2"):
        assert screen.accepting(text, list(DEFAULT)) == list(DEFAULT), text


_GLUE = [" ", ", ", " ext. ", " x", "#", "/", " / ", ". ", " - ", "-", "(", ")", "tel:", "+", "a"]
_WORDS = [
    "call",
    "fax",
    "on 2012-01-02 08:00:",
    "at 10:30",
    "page 12(3): 211-227 (2003)",
    "3/10/2011",
]


def _texts(seed: int, count: int) -> list[str]:
    """Numbers from every region in many formats, glued by what the matcher reacts to."""
    rng = random.Random(seed)
    numbers = _examples(seed, 6)
    pieces = numbers + _digit_soup(seed, 200) + _WORDS
    out = []
    for _ in range(count):
        parts = [rng.choice(pieces) for _ in range(rng.randrange(1, 7))]
        out.append("".join(p + rng.choice(_GLUE) for p in parts))
    return out


@pytest.mark.parametrize("regions", [DEFAULT, ("AR", "AT", "IT", "US", "RU")])
def test_same_results_as_presidio_phone_recognizer(regions: tuple[str, ...]) -> None:
    recognizer = PhoneRecognizer(supported_regions=regions)
    fast = FastPhoneRecognizer(recognizer)
    for text in _texts(11, 400):
        theirs = {(r.start, r.end, r.score) for r in recognizer.analyze(text, ["PHONE_NUMBER"])}
        ours = {(s, e, score) for _, s, e, score in fast.hits(text)}
        assert ours == theirs, text


@pytest.mark.parametrize("max_tries", [0, 1, 2, 3, 5, 8, 65535])
def test_every_region_sees_what_its_own_matcher_sees(max_tries: int) -> None:
    """Match for match, region by region, including where the retry budget runs out."""
    recognizer = PhoneRecognizer()
    fast = FastPhoneRecognizer(recognizer)
    for text in _texts(23, 150):
        theirs = sorted(
            (m.start, m.end)
            for region in DEFAULT
            for m in PhoneNumberMatcher(text, region, leniency=1, max_tries=max_tries)
        )
        assert sorted(fast.matches(text, max_tries=max_tries)) == theirs, text


def test_only_presidios_own_phone_recognizer_is_replaced() -> None:
    class Custom(PhoneRecognizer):
        def analyze(self, text, entities, nlp_artifacts=None):  # type: ignore[no-untyped-def]
            return []

    assert FastPhoneRecognizer.handles(PhoneRecognizer())
    assert not FastPhoneRecognizer.handles(Custom())


def test_far_fewer_parses_than_presidio_on_1kb_prompts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The point of it all, counted rather than timed: phonenumbers' parse calls."""
    from phonenumbers import phonenumbermatcher

    from tests.gateway.pii.corpus import pii_prompts

    calls = {"n": 0}
    module: Any = phonenumbermatcher  # parse is not in its type stubs
    parse = module.parse

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        return parse(*args, **kwargs)

    monkeypatch.setattr(phonenumbermatcher, "parse", counting)
    recognizer = PhoneRecognizer()
    fast = FastPhoneRecognizer(recognizer)
    prompts = pii_prompts(40)
    counts = []
    for run in (lambda t: recognizer.analyze(t, ["PHONE_NUMBER"]), fast.hits):
        calls["n"] = 0
        for prompt in prompts:
            run(prompt)
        counts.append(calls["n"])
    presidio, ours = counts
    assert ours * 5 < presidio, counts
    assert ours > 0, "the fast recognizer still asks phonenumbers about what it reports"


def test_this_phonenumbers_has_the_internals_the_scan_restates() -> None:
    """pyproject pins phonenumbers; a release that moves these makes the fast phone path fall
    back to Presidio's (slow) one, so an upgrade must fail here, naming what moved."""
    from gateway.policy.pii._phone_scan import missing_internals

    missing = missing_internals()
    assert not missing, (
        f"phonenumbers {phonenumbers.__version__} lacks what gateway/policy/pii/_phone_scan.py "
        f"restates: {', '.join(missing)}"
    )
