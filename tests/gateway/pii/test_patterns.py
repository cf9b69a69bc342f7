"""Presidio's regex recognizers without their bookkeeping give Presidio's results."""

from __future__ import annotations

import random
from typing import Any

from presidio_analyzer import EntityRecognizer, RecognizerResult

from configs import PiiSettings
from gateway.policy.pii import build_presidio
from gateway.policy.pii._patterns import FastPatternRecognizer, dedupe
from tests.gateway.pii.corpus import build_corpus, pii_prompts


def test_same_hits_as_each_pattern_recognizer() -> None:
    setup = build_presidio(PiiSettings())
    recognizers = [r for r in setup.recognizers if FastPatternRecognizer.handles(r)]
    # email, card, IP and SSN; IBAN and phone analyse their own way
    assert len(recognizers) >= 4
    texts = [item.text for item in build_corpus()] + pii_prompts(40)
    texts += ["4111-1111-1111-1111 and 078-05-1120, 000-00-0000, ::1, a@b, x@example.com"]
    seen = 0
    no_artifacts: Any = None
    for recognizer in recognizers:
        fast = FastPatternRecognizer(recognizer)
        entity = recognizer.supported_entities[0]
        for text in texts:
            theirs = recognizer.analyze(text, [entity], no_artifacts)
            ours = fast.hits(text)
            assert sorted(ours) == sorted(
                (r.entity_type, r.start, r.end, r.score) for r in theirs
            ), (entity, text)
            seen += len(ours)
    assert seen > 200


def test_dedupe_is_presidios_remove_duplicates() -> None:
    rng = random.Random(4)
    for _ in range(500):
        hits = []
        for _ in range(rng.randrange(0, 12)):
            start = rng.randrange(0, 30)
            hits.append(
                (
                    rng.choice(["A", "B"]),
                    start,
                    start + rng.randrange(1, 10),
                    rng.choice([0.0, 0.3, 0.4, 0.4, 1.0]),
                )
            )
        theirs = EntityRecognizer.remove_duplicates([RecognizerResult(*h) for h in hits])
        assert sorted(dedupe(hits)) == sorted(
            (r.entity_type, r.start, r.end, r.score) for r in theirs
        ), hits
