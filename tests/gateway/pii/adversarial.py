"""The adversarial PII corpus: random valid values in the contexts that hide them.

``build_adversarial(size, seed)`` generates, deterministically from ``seed``, texts that each
carry one or two labelled values:

- values: Luhn-valid card numbers of the main issuers (grouped as printed, or not);
  IBANs of twenty countries in their registry format with valid check digits (compact or in
  groups of four); phone numbers that python-phonenumbers calls valid, written
  internationally (any country) or nationally (for the regions Presidio's phone recognizer
  reads: a national number of another country is not a phone number to anyone); emails;
- contexts: plain prose, glued to a word on the left, the right or both (not emails: glued
  to a word, an address is another valid address), after and before
  punctuation, in brackets and quotes, on its own line, in a URL's query string and path
  (percent-encoded or not), in a JSON document (``\\n`` and ``\\t`` escapes next to it), in
  Markdown table cells;
- obfuscations (a quarter of the values): full-width digits and ``\\uff20``, zero-width spaces or
  joiners, word joiners, BOMs and soft hyphens inside the value, a no-break space as separator.

Labels are the value's span in the text as sent (obfuscation characters included).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from urllib.parse import quote

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from tests.gateway.pii.corpus import Labelled

__all__ = ["ADVERSARIAL_ENTITIES", "build_adversarial", "card", "iban", "matches", "phone", "score"]

ADVERSARIAL_ENTITIES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE")

_WORDS = "please send the invoice to our team before friday and confirm the details".split(" ")  # noqa: SIM905

# (prefix choices, length): Visa, Mastercard (both series), Amex, Discover, JCB, Diners,
# UnionPay, Maestro
_ISSUERS = [
    (["4"], 16),
    (["4"], 13),
    (["4"], 19),
    (["51", "52", "53", "54", "55", "2221", "2720"], 16),
    (["34", "37"], 15),
    (["6011", "65", "644"], 16),
    (["3528", "3589"], 16),
    (["36", "300", "305"], 14),
    (["62"], 16),
    (["62"], 19),
    (["6759", "5018"], 18),
]

# country -> BBAN format: (count, kind) with kind n (digit), a (upper-case letter), c (either)
_BBAN = {
    "DE": "18n",
    "GB": "4a14n",
    "FR": "10n11c2n",
    "NL": "4a10n",
    "ES": "20n",
    "IT": "1a10n12c",
    "BE": "12n",
    "CH": "5n12c",
    "AT": "16n",
    "PL": "24n",
    "SE": "20n",
    "NO": "11n",
    "DK": "14n",
    "IE": "4a14n",
    "PT": "21n",
    "LU": "3n13c",
    "FI": "14n",
    "GR": "7n16c",
    "MT": "4a5n18c",
    "SA": "2n18c",
}

_INTERNATIONAL = ["US", "GB", "DE", "FR", "IN", "BR", "IL", "JP", "AU", "ES", "IT", "NL", "CH"]
_NATIONAL = ["US", "DE", "IN", "BR", "IL", "CA"]  # Presidio's default regions that exist
_KINDS = [PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE]

_FULL_WIDTH = {ord(c): ord(c) + 0xFEE0 for c in "0123456789@"}  # U+FF10.., U+FF20
_HIDDEN = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]


def _luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
    total = 0
    for i, char in enumerate(reversed(body)):
        value = int(char) * (2 if i % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return body + str((10 - total % 10) % 10)


def card(rng: random.Random) -> str:
    prefixes, length = rng.choice(_ISSUERS)
    number = _luhn_complete(rng.choice(prefixes), length, rng)
    sep = rng.choice(["", "", " ", "-"])
    if not sep:
        return number
    if length == 15:
        return sep.join([number[:4], number[4:10], number[10:]])
    if length == 14:
        return sep.join([number[:4], number[4:10], number[10:]])
    return sep.join(number[i : i + 4] for i in range(0, length, 4))


def _bban(spec: str, rng: random.Random) -> str:
    out: list[str] = []
    count = ""
    for char in spec:
        if char.isdigit():
            count += char
            continue
        alphabet = {"n": "0123456789", "a": "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}.get(
            char, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        )
        out.extend(rng.choice(alphabet) for _ in range(int(count)))
        count = ""
    return "".join(out)


def iban(rng: random.Random) -> str:
    country = rng.choice(sorted(_BBAN))
    bban = _bban(_BBAN[country], rng)
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    value = f"{country}{98 - int(numeric) % 97:02d}{bban}"
    if rng.random() < 0.5:
        return " ".join(value[i : i + 4] for i in range(0, len(value), 4))
    return value


def phone(rng: random.Random) -> str:
    """A valid number, written internationally or (for Presidio's regions) nationally."""
    national = rng.random() < 0.4
    region = rng.choice(_NATIONAL if national else _INTERNATIONAL)
    example = phonenumbers.example_number_for_type(region, rng.choice(_KINDS))
    assert example is not None
    digits = str(example.national_number)
    for _ in range(50):  # vary the subscriber part until the plan still calls it valid
        tail = "".join(str(rng.randrange(10)) for _ in range(4))
        candidate = phonenumbers.parse(f"+{example.country_code}{digits[:-4]}{tail}")
        if phonenumbers.is_valid_number(candidate):
            example = candidate
            break
    if national:
        return phonenumbers.format_number(example, PhoneNumberFormat.NATIONAL)
    style = rng.choice(["international", "international", "e164"])
    if style == "e164":
        return phonenumbers.format_number(example, PhoneNumberFormat.E164)
    return phonenumbers.format_number(example, PhoneNumberFormat.INTERNATIONAL)


def email(rng: random.Random) -> str:
    local = rng.choice(["jane.doe", "omar", "li.wei", "s.rossi", "kenji_t", "maria+billing"])
    domain = rng.choice(["example.com", "mail.example.org", "example.co.uk", "corp.example.net"])
    return f"{local}{rng.randrange(100)}@{domain}"


_MAKERS: dict[str, Callable[[random.Random], str]] = {
    "EMAIL_ADDRESS": email,
    "PHONE_NUMBER": phone,
    "CREDIT_CARD": card,
    "IBAN_CODE": iban,
}


def _obfuscate(value: str, rng: random.Random) -> str:
    """Full-width characters, hidden characters inside, or a no-break space as separator."""
    way = rng.choice(["full-width", "hidden", "hidden", "nbsp"])
    if way == "full-width":
        return value.translate(_FULL_WIDTH)
    if way == "nbsp" and " " in value:
        return value.replace(" ", "\u00a0")
    inner = [i for i in range(1, len(value)) if value[i - 1].isalnum() and value[i].isalnum()]
    for pos in sorted(rng.sample(inner, min(len(inner), rng.randrange(1, 3))), reverse=True):
        value = value[:pos] + rng.choice(_HIDDEN) + value[pos:]
    return value


def _word(rng: random.Random) -> str:
    return rng.choice(_WORDS)


# context -> (text before, value as written, text after); the value may be re-encoded
Context = Callable[[str, random.Random], tuple[str, str, str]]


def _json(value: str, rng: random.Random) -> tuple[str, str, str]:
    key = rng.choice(["note", "account", "contact", "payload"])
    before = json.dumps({key: f"{_word(rng)}\n"}, ensure_ascii=False)[:-2]
    return before, value, "\\t" + _word(rng) + '"}'


_PAIRS = {"(": ")", "[": "]", "{": "}", "<": ">", '"': '"', "'": "'", "`": "`", "\u00ab": "\u00bb"}
_PAIRS["\u201c"] = "\u201d"
_PUNCT = ":;,="


def _around(v: str, r: random.Random, opening: str) -> tuple[str, str, str]:
    mark = r.choice(opening)
    return mark, v, _PAIRS[mark]


_CONTEXTS: dict[str, Context] = {
    "prose": lambda v, r: (f"{_word(r)} {_word(r)} ", v, f" {_word(r)}."),
    "glued-left": lambda v, r: (f"{_word(r)} {_word(r)}", v, f" {_word(r)}"),
    "glued-right": lambda v, r: (f"{_word(r)} ", v, f"{_word(r)} now"),
    "glued-both": lambda v, r: (f"see {_word(r)}", v, f"{_word(r)} ok"),
    "punctuation": lambda v, r: (_word(r) + r.choice(_PUNCT), v, r.choice("!?.,;")),
    "brackets": lambda v, r: _around(v, r, "([{<"),
    "quotes": lambda v, r: _around(v, r, "\"'`\u00ab\u201c"),
    "line": lambda v, r: (f"{_word(r)}\n", v, r.choice(["\n", "\r\n"]) + _word(r)),
    "url-query": lambda v, r: ("https://pay.example/api?id=7&v=", quote(v, safe=""), "&l=en"),
    "url-query-raw": lambda v, r: ("https://pay.example/api?value=", v, "&next=1"),
    "url-path": lambda v, r: ("https://crm.example/contacts/", quote(v, safe="@"), "/edit"),
    "json": _json,
    "markdown": lambda v, r: (f"| {_word(r)} |", v, "| yes |"),
}


def build_adversarial(size: int = 600, seed: int = 20261216) -> list[Labelled]:
    """``size`` texts, each with one or two labelled values in generated contexts."""
    rng = random.Random(seed)
    corpus: list[Labelled] = []
    entities = list(_MAKERS)
    contexts = list(_CONTEXTS)
    for _ in range(size):
        item = Labelled()
        item.add(" ".join(_word(rng) for _ in range(rng.randrange(1, 6))) + " ")
        for entity in rng.sample(entities, rng.randrange(1, 3)):
            value = _MAKERS[entity](rng)
            if rng.random() < 0.25:
                value = _obfuscate(value, rng)
            # an email glued to a word is another valid address: no context to label
            usable = [c for c in contexts if entity != "EMAIL_ADDRESS" or "glued" not in c]
            before, shown, after = _CONTEXTS[rng.choice(usable)](value, rng)
            item.add(before)
            item.add(shown, entity)
            item.add(after + " ")
        corpus.append(item)
    return corpus


_FRAME = " \t([{<)]}>"


def matches(text: str, found: tuple[int, int], label: tuple[int, int]) -> bool:
    """A finding names a label when it is the label's span, give or take the brackets and
    spaces around it (phonenumbers keeps an opening bracket in its match)."""
    start, end = found
    while start < end and text[start] in _FRAME and start < label[0]:
        start += 1
    while end > start and text[end - 1] in _FRAME and end > label[1]:
        end -= 1
    return (start, end) == label


def score(
    corpus: list[Labelled], found: list[set[tuple[str, int, int]]]
) -> dict[str, tuple[float, float, int]]:
    """Per entity: (precision, recall, labelled count) with ``_matches`` as a hit."""
    scores: dict[str, tuple[float, float, int]] = {}
    for entity in ADVERSARIAL_ENTITIES:
        hits = labelled = predicted = correct = 0
        for item, spans in zip(corpus, found, strict=True):
            labels = [(s, e) for t, s, e in item.labels if t == entity]
            mine = [(s, e) for t, s, e in spans if t == entity]
            labelled += len(labels)
            predicted += len(mine)
            hits += sum(any(matches(item.text, f, lab) for f in mine) for lab in labels)
            correct += sum(any(matches(item.text, f, lab) for lab in labels) for f in mine)
        precision = correct / predicted if predicted else 1.0
        scores[entity] = (precision, hits / labelled if labelled else 1.0, labelled)
    return scores
