"""Cost and accuracy of the PII step: ``python -m tests.benchmarks.pii``.

Measured in the same run, on the same prompts, taking turns prompt by prompt (so machine
load falls on every measure alike):
- Presidio's ``AnalyzerEngine`` with its default recognizers (the same offline set-up), over
  all its entities, and restricted to the six pattern entities the step looks for;
- the PII step: ``PiiSession.protect_body`` on a one-message chat request (policy, walk,
  analysis, masking, the request copy) as the gateway builds it (window cache on):
  *cold*, every prompt new to the process (each measured once), and *warm*, prompts it has
  seen before.

Wall-clock p50/p99 and the p50 of the thread's CPU time per call (steadier on a loaded
machine). Then the event loop while a 100 KB prompt is analysed, and precision and recall
per entity on the labelled corpus (tests/gateway/pii/corpus.py) and on the adversarial corpus
(tests/gateway/pii/adversarial.py: valid values in hostile contexts and obfuscations, seeded
by ``--seed``), for the step and the default analyzer.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from configs import PiiSettings
from gateway.policy.pii import PiiAnalyzer, PiiService, build_presidio, reference_analyzer
from tests.gateway.pii.adversarial import ADVERSARIAL_ENTITIES, build_adversarial, score
from tests.gateway.pii.corpus import ENTITIES, build_corpus, clean_prompts, evaluate, pii_prompts

Step = Callable[[str], Any]


def interleaved(
    steps: dict[str, Step], prompts: list[list[str]]
) -> dict[str, list[tuple[float, float]]]:
    """(wall ms, CPU ms) per call; ``prompts[i]`` holds the i-th prompt of each step."""
    out: dict[str, list[tuple[float, float]]] = {name: [] for name in steps}
    for row in prompts:
        for (name, step), prompt in zip(steps.items(), row, strict=True):
            cpu, wall = time.thread_time(), time.perf_counter()
            step(prompt)
            out[name].append(
                ((time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000)
            )
    return out


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prompts", type=int, default=400, help="new prompts per measure")
    parser.add_argument("--seed", type=int, default=20261216, help="adversarial corpus seed")
    parser.add_argument("--adversarial", type=int, default=1000, help="adversarial texts")
    args = parser.parse_args()
    settings = PiiSettings()
    reference = reference_analyzer(settings)
    service = PiiService(
        settings, PiiAnalyzer(build_presidio(settings), cache_entries=settings.cache_entries)
    )
    loop = asyncio.new_event_loop()

    def protect(prompt: str) -> Any:
        session = service.session(trust="external", key_policy=None)
        body = {"model": "m", "messages": [{"role": "user", "content": prompt}]}
        return loop.run_until_complete(session.protect_body("chat.completions", body))

    steps: dict[str, Step] = {
        "AnalyzerEngine, all defaults": lambda p: reference.analyze(p, language="en"),
        "AnalyzerEngine, 6 entities": lambda p: reference.analyze(
            p, language="en", entities=list(ENTITIES)
        ),
        "PII step, cold (new prompts)": protect,
        "PII step, warm (seen prompts)": protect,
    }
    n = args.prompts
    sets = {
        "1 KB, no PII": (clean_prompts, 7),
        "1 KB, with PII": (pii_prompts, 11),
    }
    for make, _ in sets.values():  # process warm-up (imports, regex compilation): other prompts
        for prompt in make(30, seed=99):
            for step in steps.values():
                step(prompt)
    print(load())
    print(
        f"{'prompts':<16}{'measure':<32}{'p50 ms':>8}{'p99 ms':>8}{'CPU p50':>9}{'vs default':>11}"
    )
    for label, (make, seed) in sets.items():
        fresh = make(n, seed=seed)
        seen = make(20, seed=seed + 1000)
        for prompt in seen:
            protect(prompt)
        rows = [[p, p, p, seen[i % len(seen)]] for i, p in enumerate(fresh)]
        timings = interleaved(steps, rows)
        base = statistics.median(w for w, _ in timings["AnalyzerEngine, 6 entities"])
        for name, values in timings.items():
            wall = [w for w, _ in values]
            cpu = statistics.median(c for _, c in values)
            p50, p99 = pct(wall, 50), pct(wall, 99)
            print(f"{label:<16}{name:<32}{p50:>8.3f}{p99:>8.3f}{cpu:>9.3f}{base / p50:>10.1f}x")
    print(load())
    event_loop(service)
    accuracy(service, reference)
    adversarial(service, reference, args.adversarial, args.seed)
    loop.close()


def event_loop(service: PiiService) -> None:
    """How long small requests wait while a 100 KB prompt is being analysed."""
    small = pii_prompts(40, seed=5)
    huge = "".join(pii_prompts(100, seed=6))[:100_000]

    async def run() -> tuple[float, list[float]]:
        async def protect(prompt: str) -> float:
            started = time.perf_counter()
            session = service.session(trust="external", key_policy=None)
            body = {"model": "m", "messages": [{"role": "user", "content": prompt}]}
            await session.protect_body("chat.completions", body)
            return (time.perf_counter() - started) * 1000

        big = asyncio.create_task(protect(huge))
        waits = []
        for prompt in small:
            await asyncio.sleep(0.002)
            waits.append(await protect(prompt))
            if big.done():
                break
        return await big, waits

    took, waits = asyncio.run(run())
    print(
        f"\n100 KB prompt analysed in {took:.0f} ms (in a worker thread); meanwhile "
        f"{len(waits)} 1 KB requests: p50 {statistics.median(waits):.2f} ms, "
        f"max {max(waits):.2f} ms"
    )


Spans = list[set[tuple[str, int, int]]]


def _spans(service: PiiService, reference: Any, texts: list[str]) -> tuple[Spans, Spans]:
    """Per text: the step's findings and the default AnalyzerEngine's, as (entity, start, end)."""
    ours = [{(f.entity, f.start, f.end) for f in service.analyzer.analyze(t)} for t in texts]
    theirs = [
        {(r.entity_type, r.start, r.end) for r in reference.analyze(t, "en", list(ENTITIES))}
        for t in texts
    ]
    return ours, theirs


def _table(mine: Any, default: Any, entities: Any) -> None:
    print(f"{'entity':<16}{'n':>5}{'P step':>9}{'R step':>9}{'P default':>11}{'R default':>11}")
    for entity in entities:
        p, r, n = mine[entity]
        bp, br, _ = default[entity]
        print(f"{entity:<16}{n:>5}{p:>9.3f}{r:>9.3f}{bp:>11.3f}{br:>11.3f}")


def _missed(ours: Spans, theirs: Spans) -> int:
    return sum(len(b - a) for a, b in zip(ours, theirs, strict=True))


def accuracy(service: PiiService, reference: Any) -> None:
    corpus = build_corpus()
    ours, theirs = _spans(service, reference, [i.text for i in corpus])
    print(f"\ncorpus: {len(corpus)} texts, {sum(len(i.labels) for i in corpus)} labelled entities")
    _table(evaluate(corpus, ours), evaluate(corpus, theirs), ENTITIES)
    extra = _missed(theirs, ours)
    print(
        f"spans the default analyzer found and the step did not: {_missed(ours, theirs)}; "
        f"the reverse: {extra}"
    )


def adversarial(service: PiiService, reference: Any, size: int, seed: int) -> None:
    corpus = build_adversarial(size, seed=seed)
    ours, theirs = _spans(service, reference, [i.text for i in corpus])
    print(f"\nadversarial corpus: {size} texts, seed {seed}")
    _table(score(corpus, ours), score(corpus, theirs), ADVERSARIAL_ENTITIES)
    print(f"default's spans the step did not report: {_missed(ours, theirs)}")


if __name__ == "__main__":
    main()
