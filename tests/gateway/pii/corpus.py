"""The labelled PII corpus: texts with the spans a person would mark, built deterministically.

``build_corpus()`` returns the same texts every time (a seeded generator): sentences that
carry emails, phone numbers in several national and international formats, card numbers
(Luhn-valid, with and without separators), IBANs (valid check digits), IPv4/IPv6 addresses
and US SSNs, mixed with look-alikes that are not personal data (versions, dates, times,
order numbers, hashes, prices). Labels mark the true entities only.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["ENTITIES", "Labelled", "build_corpus", "clean_prompts", "evaluate", "pii_prompts"]

ENTITIES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "US_SSN")


@dataclass
class Labelled:
    text: str = ""
    labels: list[tuple[str, int, int]] = field(default_factory=list)

    def add(self, piece: str, entity: str | None = None) -> None:
        if entity is not None:
            self.labels.append((entity, len(self.text), len(self.text) + len(piece)))
        self.text += piece


_FIRST = ["jane", "omar", "li", "sofia", "pieter", "amara", "kenji", "maria", "tom", "anna"]
_LAST = ["doe", "haddad", "wei", "rossi", "devries", "okafor", "tanaka", "silva", "berg"]
_DOMAINS = [
    "example.com",
    "mail.example.org",
    "corp.example.net",
    "uni.example.edu",
    "example.co.uk",
]
_WORDS = [
    "please",
    "review",
    "the",
    "quarterly",
    "report",
    "and",
    "summarise",
    "the",
    "open",
    "questions",
    "for",
    "the",
    "team",
    "meeting",
    "we",
    "agreed",
    "to",
    "move",
    "the",
    "deadline",
    "because",
    "the",
    "vendor",
    "needs",
    "more",
    "time",
    "to",
    "deliver",
    "the",
    "integration",
    "tests",
    "are",
    "green",
    "except",
    "for",
    "the",
    "flaky",
    "upload",
    "job",
    "which",
    "we",
    "retry",
    "later",
]


def _luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    digits = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d)
        if i % 2 == 0:
            n *= 2
            n -= 9 if n > 9 else 0
        total += n
    return digits + str((10 - total % 10) % 10)


def _card(rng: random.Random) -> str:
    prefix, length = rng.choice([("4", 16), ("51", 16), ("55", 16), ("6011", 16), ("37", 15)])
    number = _luhn_complete(prefix, length, rng)
    sep = rng.choice(["", " ", "-"])
    if length == 15:
        return sep.join([number[:4], number[4:10], number[10:]])
    return sep.join(number[i : i + 4] for i in range(0, 16, 4))


def _iban(rng: random.Random) -> str:
    country, bban_len = rng.choice([("DE", 18), ("GB", 18), ("FR", 23), ("NL", 14), ("ES", 20)])
    if country == "GB":
        bban = "WEST" + "".join(str(rng.randrange(10)) for _ in range(14))
    elif country == "NL":
        bban = "ABNA" + "".join(str(rng.randrange(10)) for _ in range(10))
    else:
        bban = "".join(str(rng.randrange(10)) for _ in range(bban_len))
    rearranged = bban + country + "00"
    numeric = "".join(str(int(c, 36)) for c in rearranged)
    check = 98 - int(numeric) % 97
    iban = f"{country}{check:02d}{bban}"
    if rng.random() < 0.5:
        return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    return iban


def _phone(rng: random.Random) -> str:
    area = rng.choice(["212", "415", "646", "312", "617"])
    line = f"{rng.randrange(200, 999)}"
    last = f"{rng.randrange(0, 9999):04d}"
    return rng.choice(
        [
            f"({area}) {line}-{last}",
            f"{area}-{line}-{last}",
            f"+1 {area} {line} {last}",
            f"+44 20 7{rng.randrange(100, 999)} {rng.randrange(1000, 9999)}",
            f"+49 30 {rng.randrange(1000000, 9999999)}",
            f"+33 1 {rng.randrange(10, 99)} {rng.randrange(10, 99)} {rng.randrange(10, 99)} "
            f"{rng.randrange(10, 99)}",
            f"{area}.{line}.{last}",
        ]
    )


def _ssn(rng: random.Random) -> str:
    area = rng.choice([rng.randrange(1, 665), rng.randrange(667, 899)])
    sep = rng.choice(["-", " ", "-", "."])
    return f"{area:03d}{sep}{rng.randrange(1, 99):02d}{sep}{rng.randrange(1, 9999):04d}"


def _ip(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return ".".join(str(rng.randrange(1, 255)) for _ in range(4))
    groups = [f"{rng.randrange(0, 65535):x}" for _ in range(rng.choice([4, 8]))]
    return "2001:db8::" + ":".join(groups[:3]) if len(groups) == 4 else ":".join(groups)


def _email(rng: random.Random) -> str:
    return f"{rng.choice(_FIRST)}.{rng.choice(_LAST)}{rng.randrange(100)}@{rng.choice(_DOMAINS)}"


_MAKERS = {
    "EMAIL_ADDRESS": (_email, ["write to ", "cc ", "my email is ", "reply to "]),
    "PHONE_NUMBER": (_phone, ["call me at ", "phone: ", "my number is ", "text "]),
    "CREDIT_CARD": (_card, ["card ", "charge my visa ", "cc number ", "pay with "]),
    "IBAN_CODE": (_iban, ["IBAN ", "wire it to ", "account "]),
    "IP_ADDRESS": (_ip, ["server ", "login from ", "ip ", "host "]),
    "US_SSN": (_ssn, ["ssn ", "social security number ", "SSN: "]),
}

_DECOYS = [
    "version 3.11.4",
    "on 2024-05-17",
    "at 10:30",
    "order #58213",
    "commit 9f2c4e1",
    "costs $1,299.99",
    "page 42 of 120",
    "in 2023",
    "room 4B",
    "Python 3.12",
    "ratio 16:9",
    "build 20240517",
]


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n))


def build_corpus(size: int = 240, seed: int = 20261126) -> list[Labelled]:
    """``size`` labelled texts; about a sixth hold no PII at all (decoys only)."""
    rng = random.Random(seed)
    corpus: list[Labelled] = []
    entities = list(_MAKERS)
    for i in range(size):
        item = Labelled()
        item.add(_words(rng, rng.randrange(3, 12)).capitalize())
        if i % 6 == 5:
            for _ in range(rng.randrange(1, 3)):
                item.add(f" {rng.choice(_DECOYS)} {_words(rng, rng.randrange(2, 6))}")
            item.add(".")
            corpus.append(item)
            continue
        for entity in rng.sample(entities, rng.randrange(1, 3)):
            make, leads = _MAKERS[entity]
            item.add(f", {rng.choice(leads)}")
            item.add(make(rng), entity)
            item.add(f" {_words(rng, rng.randrange(1, 6))}")
        if rng.random() < 0.4:
            item.add(f" ({rng.choice(_DECOYS)})")
        item.add(".")
        corpus.append(item)
    return corpus


def clean_prompts(count: int = 50, size: int = 1024, seed: int = 7) -> list[str]:
    """~``size``-character prompts without PII (some with numbers that are not PII)."""
    rng = random.Random(seed)
    prompts = []
    for i in range(count):
        text = ""
        while len(text) < size:
            text += _words(rng, 12).capitalize() + ". "
            if i % 4 == 0 and rng.random() < 0.2:
                text += rng.choice(_DECOYS) + ". "
        prompts.append(text[:size])
    return prompts


def pii_prompts(count: int = 50, size: int = 1024, seed: int = 11) -> list[str]:
    """~``size``-character prompts holding two or three entities."""
    rng = random.Random(seed)
    prompts = []
    for _ in range(count):
        parts = [_words(rng, 60).capitalize()]
        for entity in rng.sample(list(_MAKERS), rng.randrange(2, 4)):
            make, leads = _MAKERS[entity]
            parts.append(f"{rng.choice(leads)}{make(rng)}")
        body = ". ".join(parts) + ". "
        while len(body) < size:
            body += _words(rng, 12) + ". "
        prompts.append(body[:size])
    return prompts


def evaluate(
    corpus: list[Labelled], found: list[set[tuple[str, int, int]]]
) -> dict[str, tuple[float, float, int]]:
    """Per entity: (precision, recall, labelled count); exact span matches count as hits."""
    scores: dict[str, tuple[float, float, int]] = {}
    for entity in ENTITIES:
        labelled = {
            (i, s, e) for i, item in enumerate(corpus) for (t, s, e) in item.labels if t == entity
        }
        predicted = {
            (i, s, e) for i, spans in enumerate(found) for (t, s, e) in spans if t == entity
        }
        hits = len(labelled & predicted)
        precision = hits / len(predicted) if predicted else 1.0
        recall = hits / len(labelled) if labelled else 1.0
        scores[entity] = (precision, recall, len(labelled))
    return scores
