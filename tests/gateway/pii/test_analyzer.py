"""The fast analyzer finds what Presidio's default analyzer finds: on the labelled corpus,
on texts generated to stress the window edges, and at a fraction of the work. What it finds
beyond that (``test_adversarial``) is checked here to be valid: checksums and number plans."""

from __future__ import annotations

import logging
import random
import time
from typing import Any

import phonenumbers
import phonenumbers.phonenumbermatcher as matcher
import pytest
import regex
import tldextract

from configs import PiiNlpSettings, PiiSettings
from gateway.policy.pii import Finding, PiiAnalyzer, build_presidio
from gateway.policy.pii._checksums import iban_valid, luhn_valid
from gateway.policy.pii._email import EmailFinder
from gateway.policy.pii._phone_view import separated
from gateway.policy.pii._windows import _PHONE_RUN, WINDOW_SPECS, min_phone_digits
from tests.gateway.pii.corpus import ENTITIES, build_corpus, evaluate, pii_prompts

Spans = set[tuple[str, int, int, float]]


def ours(analyzer: PiiAnalyzer, text: str) -> Spans:
    return {(f.entity, f.start, f.end, round(f.score, 6)) for f in analyzer.analyze(text)}


def theirs(reference: Any, text: str) -> Spans:
    found = reference.analyze(text, language="en", entities=list(ENTITIES))
    return {(r.entity_type, r.start, r.end, round(r.score, 6)) for r in found}


def test_corpus_is_large_and_labelled() -> None:
    corpus = build_corpus()
    assert len(corpus) >= 200
    assert {label[0] for item in corpus for label in item.labels} == set(ENTITIES)
    assert build_corpus()[17].text == corpus[17].text  # deterministic


def test_same_findings_as_the_default_analyzer_on_the_corpus(
    analyzer: PiiAnalyzer, reference: Any
) -> None:
    corpus = build_corpus()
    mine = [ours(analyzer, item.text) for item in corpus]
    default = [theirs(reference, item.text) for item in corpus]
    for item, a, b in zip(corpus, mine, default, strict=True):
        assert b <= a, f"missed {b - a} in {item.text!r}"
        labelled = set(item.labels)
        assert {(e, s, t) for e, s, t, _ in a - b} <= labelled, f"extra {a - b} in {item.text!r}"
    strip = [{(e, s, t) for e, s, t, _ in spans} for spans in mine]
    strip_default = [{(e, s, t) for e, s, t, _ in spans} for spans in default]
    for entity, (precision, recall, _) in evaluate(corpus, strip).items():
        base_precision, base_recall, _ = evaluate(corpus, strip_default)[entity]
        assert recall >= base_recall, entity
        assert precision >= base_precision, entity
        assert recall > 0.5, f"{entity}: the corpus should be findable (recall {recall})"


_GLUE = [
    " ",
    "  ",
    "\n",
    "\t",
    ", ",
    "x",
    "-",
    "(",
    ")",
    ".",
    ":",
    "::",
    "@",
    "ext. ",
    "#",
    "/",
    "+",
]


def _stress_texts(count: int, seed: int) -> list[str]:
    """Corpus pieces glued with characters that sit on window edges, plus digit soup."""
    rng = random.Random(seed)
    pieces = [item.text for item in build_corpus(size=60, seed=seed)]
    tokens = [t for text in pieces for t in text.split(" ")]
    out = []
    for _ in range(count):
        parts = [rng.choice(tokens) for _ in range(rng.randrange(2, 14))]
        text = "".join(p + rng.choice(_GLUE) for p in parts)
        if rng.random() < 0.4:
            text += " ".join(str(rng.randrange(10 ** rng.randrange(1, 12))) for _ in range(5))
        out.append(text)
    return out


_DOT_ATOM = regex.compile(r"[\w+'\-]+(?:\.[\w+'\-]+)*")
_SUFFIXES = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def _valid(entity: str, value: str) -> bool:
    """What we report beyond Presidio holds its checksum, its number plan calls it valid, or
    it is an address with a dot-atom local part and a registrable domain."""
    if entity == "EMAIL_ADDRESS":
        local, _, domain = value.partition("@")
        parts = _SUFFIXES(domain)
        return bool(_DOT_ATOM.fullmatch(local)) and bool(parts.suffix and parts.domain)
    compact = "".join(c for c in value if c.isalnum())
    if entity == "CREDIT_CARD":
        return luhn_valid(compact)
    if entity == "IBAN_CODE":
        return iban_valid(compact)
    if entity == "PHONE_NUMBER":
        regions = ["US", "DE", "IL", "IN", "CA", "BR"]
        return any(
            phonenumbers.is_valid_number(phonenumbers.parse(value, r))
            for r in regions
            if _parses(value, r)
        )
    return False


def _parses(value: str, region: str) -> bool:
    try:
        phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return False
    return True


def test_same_findings_on_generated_edge_cases(analyzer: PiiAnalyzer, reference: Any) -> None:
    extra = 0
    for text in _stress_texts(300, seed=3):
        a, b = ours(analyzer, text), theirs(reference, text)
        assert b <= a, f"missed {b - a} in {text!r}"
        for entity, start, end, _ in a - b:
            assert _valid(entity, text[start:end]), (entity, text[start:end], text)
            extra += 1
    assert extra > 0  # glued to words: found by checksum or number plan


@pytest.mark.parametrize(
    "text",
    [
        "mail jane.doe@example.com now",
        "call (415) 555-2671 ext. 12 or +49 30 901820, fax 212.555.0142",
        "card 4111-1111-1111-1111, amex 3714 496353 98431",
        "IBAN GB82 WEST 1234 5698 7654 32 and DE89370400440532013000 2 days",
        "hosts 10.0.0.1/24, ::1, fe80::1ff:fe23:4567:890a%eth0 and ::ffff:192.0.2.1",
        "ssn 078-05-1121, 536 22 1234 and 536.22.1234",
        "x@y",
        "",
        "no digits, no at-signs, nothing to find",
    ],
)
def test_same_findings_on_known_shapes(analyzer: PiiAnalyzer, reference: Any, text: str) -> None:
    assert ours(analyzer, text) == theirs(reference, text)


def test_a_text_without_triggers_runs_no_recognizer(analyzer: PiiAnalyzer) -> None:
    text = "Please summarise the meeting notes for the planning review. " * 20
    for spec in WINDOW_SPECS.values():
        assert spec.windows(text) == []
    assert analyzer.analyze(text) == []


def test_phone_run_class_holds_every_character_phonenumbers_accepts() -> None:
    run = regex.compile(_PHONE_RUN, regex.IGNORECASE)
    punctuation = matcher._PUNCTUATION.strip("[]{}0,4")  # the class phonenumbers builds
    accepted = (
        set(punctuation) | set(matcher._OPENING_PARENS) | set("+\uff0b0123456789\u0663")
    )  # plus, fullwidth plus, digits
    missing = sorted(c for c in accepted if not run.fullmatch(c))
    assert not missing, missing
    assert 2 <= min_phone_digits() <= 7


def test_inactive_entities_are_named_at_start(caplog: pytest.LogCaptureFixture) -> None:
    settings = PiiSettings(
        entities=("EMAIL_ADDRESS", "PERSON", "ORGANIZATION"),
        nlp=PiiNlpSettings(engine="spacy", model="en_core_web_definitely_missing"),
    )
    with caplog.at_level(logging.WARNING, logger="gateway.policy.pii"):
        setup = build_presidio(settings)
    assert setup.active == ("EMAIL_ADDRESS",)
    assert setup.inactive == ("PERSON", "ORGANIZATION")
    text = caplog.text
    assert "en_core_web_definitely_missing" in text
    assert "PERSON, ORGANIZATION" in text


def test_a_blank_spacy_pipeline_runs_the_nlp_path(tmp_path: Any) -> None:
    import spacy

    path = tmp_path / "blank_en"
    spacy.blank("en").to_disk(path)
    settings = PiiSettings(
        entities=("EMAIL_ADDRESS", "PHONE_NUMBER"),
        nlp=PiiNlpSettings(engine="spacy", model=str(path)),
    )
    analyzer = PiiAnalyzer(build_presidio(settings))
    found = analyzer.analyze("phone number: 212-555-0142, email jane@example.com")
    assert [(f.entity, f.score) for f in found] == [("PHONE_NUMBER", 0.4), ("EMAIL_ADDRESS", 1.0)]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("https://x.example/contacts/alice@example.com/edit", ["alice@example.com"]),
        ("?value=alice@example.com&x=1", ["alice@example.com"]),
        ("'jane@example.com' and `li@example.org`", ["jane@example.com", "li@example.org"]),
        ("o'brien@example.ie, a.b+c_d-e@mail.example.co.uk", ["o'brien@example.ie",
                                                               "a.b+c_d-e@mail.example.co.uk"]),
        ("report jane.doe@example.com.pdf", ["jane.doe@example.com"]),
        ("a..b@example.com .c@example.com d.@example.com", ["b@example.com", "c@example.com"]),
        ("x@y build@1.2.3 me@localhost user@host.invalidtld @example.com", []),
        ("jane@пример.рф", ["jane@пример.рф"]),
        ("jane@example.com-", ["jane@example.com"]),
    ],
)  # fmt: skip
def test_email_addresses_are_read_outwards_from_the_at_sign(text: str, found: list[str]) -> None:
    finder = EmailFinder.offline()
    assert [text[start:end] for start, end in finder.find(text)] == found
    for value in found:
        assert _valid("EMAIL_ADDRESS", value)


def test_the_email_finder_is_linear_on_hostile_input() -> None:
    finder = EmailFinder.offline()
    text = ("a" * 50_000 + "@") * 4 + "-" * 50_000 + ".com" + "@b." * 20_000
    took = time.perf_counter()
    finder.find(text)
    assert time.perf_counter() - took < 1.0


_EDGE = regex.compile(
    r"(?<![0-9])[\p{L}\p{M}%\p{Sc}](?=[+(]?[0-9])|(?<=[0-9]\)?)[\p{L}\p{M}%\p{Sc}](?![0-9])"
)


def test_phone_view_blanks_what_its_defining_pattern_matches() -> None:
    """``separated`` looks only around digit runs; the pattern it stands for scans every
    character."""
    rng = random.Random(7)
    alphabet = "0123456789+()ax%$\u20ac -\u0301\u00e9\n"
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(14)))
        positions = [m.start() for m in _EDGE.finditer(text)]
        expected = None
        if positions:
            blanked = "".join(" " if i in positions else c for i, c in enumerate(text))
            expected = (blanked, positions)
        assert separated(text) == expected, text


def test_a_repeated_text_is_answered_from_the_cache(pii_settings: PiiSettings) -> None:
    fresh = PiiAnalyzer(build_presidio(pii_settings), cache_entries=0)
    cached = PiiAnalyzer(build_presidio(pii_settings), cache_entries=256)
    texts = pii_prompts(40, seed=21)

    def cpu(analyzer: PiiAnalyzer) -> tuple[float, list[list[Finding]]]:
        took = time.thread_time()
        found = [analyzer.analyze(text) for text in texts]
        return time.thread_time() - took, found

    cold, first = cpu(cached)
    warm, again = cpu(cached)
    assert first == again == [fresh.analyze(text) for text in texts]
    assert any(first)
    assert warm < cold / 10, (warm, cold)
    again[0].clear()  # a caller's list is its own
    assert cached.analyze(texts[0]) == first[0] != []


@pytest.mark.parametrize(
    "text",
    ["jane@example.com " * 12_000, "4111 1111 1111 1111 " * 10_000],
    ids=["emails", "cards in one run of groups"],
)
def test_thousands_of_findings_cost_linear_time(analyzer: PiiAnalyzer, text: str) -> None:
    """200 KB holding 10,000 values: seconds would mean a check per pair of findings."""
    took = time.perf_counter()
    found = analyzer.analyze(text)
    assert time.perf_counter() - took < 4.0
    assert len(found) >= 10_000
