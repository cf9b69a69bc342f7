"""Cost and accuracy of the PII step: ``python -m tests.benchmarks.pii``.

Baselines measured in the same run on the same prompts:
- Presidio's ``AnalyzerEngine`` with its default recognizers (the same offline set-up), over
  all its entities, and restricted to the six pattern entities the step looks for;
- the PII step: ``PiiSession.protect_body`` on a one-message chat request (policy, walk,
  analysis, masking, the request copy), with the window cache off (every prompt new) and on.

Then precision and recall per entity on the labelled corpus (tests/gateway/pii/corpus.py)
for the step and for the default analyzer.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

from configs import PiiSettings
from gateway.pii import PiiAnalyzer, PiiService, build_presidio, reference_analyzer
from tests.gateway.pii.corpus import ENTITIES, build_corpus, clean_prompts, evaluate, pii_prompts


def timings_ms(step: Callable[[str], Any], prompts: list[str], rounds: int) -> list[float]:
    for prompt in prompts[:5]:
        step(prompt)
    out = []
    for _ in range(rounds):
        for prompt in prompts:
            start = time.perf_counter()
            step(prompt)
            out.append((time.perf_counter() - start) * 1000)
    return out


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prompts", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    settings = PiiSettings()
    setup = build_presidio(settings)
    reference = reference_analyzer(settings)
    cold = PiiService(settings, PiiAnalyzer(setup, cache_entries=0))
    warm = PiiService(settings, PiiAnalyzer(setup, cache_entries=8192))
    loop = asyncio.new_event_loop()

    def step(service: PiiService) -> Callable[[str], Any]:
        def run(prompt: str) -> Any:
            session = service.session(trust="external", key_policy=None)
            body = {"model": "m", "messages": [{"role": "user", "content": prompt}]}
            return loop.run_until_complete(session.protect_body("chat.completions", body))

        return run

    def default_all(prompt: str) -> Any:
        return reference.analyze(prompt, language="en")

    def default_six(prompt: str) -> Any:
        return reference.analyze(prompt, language="en", entities=list(ENTITIES))

    sets = {
        "1 KB, no PII": clean_prompts(args.prompts),
        "1 KB, with PII": pii_prompts(args.prompts),
    }
    print(f"{'prompts':<16}{'measure':<34}{'p50 ms':>9}{'p90 ms':>9}{'vs default':>12}")
    for label, prompts in sets.items():
        runs = {
            "AnalyzerEngine, all defaults": default_all,
            "AnalyzerEngine, 6 entities": default_six,
            "PII step, cache off": step(cold),
            "PII step, cache warm": step(warm),
        }
        base = None
        for name, fn in runs.items():
            values = timings_ms(fn, prompts, args.rounds)
            p50, p90 = pct(values, 50), pct(values, 90)
            base = base or p50
            print(f"{label:<16}{name:<34}{p50:>9.3f}{p90:>9.3f}{base / p50:>11.1f}x")

    corpus = build_corpus()
    ours = [{(f.entity, f.start, f.end) for f in setup_analyze(cold, item.text)} for item in corpus]
    theirs = [{(r.entity_type, r.start, r.end) for r in default_six(item.text)} for item in corpus]
    print(f"\ncorpus: {len(corpus)} texts, {sum(len(i.labels) for i in corpus)} labelled entities")
    print(f"{'entity':<16}{'n':>5}{'P step':>9}{'R step':>9}{'P default':>11}{'R default':>11}")
    mine, default = evaluate(corpus, ours), evaluate(corpus, theirs)
    for entity in ENTITIES:
        p, r, n = mine[entity]
        bp, br, _ = default[entity]
        print(f"{entity:<16}{n:>5}{p:>9.3f}{r:>9.3f}{bp:>11.3f}{br:>11.3f}")
    missed = sum(len(b - a) for a, b in zip(ours, theirs, strict=True))
    print(f"spans the default analyzer found and the step did not: {missed}")
    loop.close()


def setup_analyze(service: PiiService, text: str) -> Any:
    return service.analyzer.analyze(text)


if __name__ == "__main__":
    main()
