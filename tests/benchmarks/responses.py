"""/v1/responses and /v1/messages against chat completions: what each adds through ONE
gateway worker, all measured in the same run on the same stack. (The name predates
/v1/messages; other docs point to it.)

Run: ``python -m tests.benchmarks.responses`` (``--rounds``, ``--seconds``, ``--passes``,
``--duration``, ``--connections``; the defaults keep a run near three minutes on a
2-vCPU machine; ``--async-commit`` sets ``synchronous_commit = off`` on the database, to
see what of the stored row's cost is the WAL flush). Needs
``wrk`` (and preferably ``nginx``); the stack is the gateway benchmark's (``gateway.py``):
embedded Postgres and Redis, a key with every quota set, the fake upstream with fixed bodies
(which also answers ``/responses`` in OpenAI's wire format), ``ragway gateway --workers 1``.

Scenarios, each against the upstream endpoint it reaches hit directly in the same round:
- ``chat``: ``POST /v1/chat/completions`` (upstream: chat completions);
- ``responses translate``: ``POST /v1/responses`` on a ``responses_api: translate``
  deployment (upstream: chat completions), ``store: false``;
- ``responses native``: the same on a ``responses_api: native`` deployment (upstream: its
  own ``/responses``), ``store: false``;
- ``responses translate, store``: translated with ``store: true`` (the default), so each
  response is written to Postgres before it is answered;
- ``messages``: ``POST /v1/messages`` (Anthropic's Messages API, key as ``x-api-key``) on the
  translated deployment (upstream: chat completions);
- and the streamed counterparts of all but the stored one.

Reported: at 1 connection, ``--rounds`` rounds of ``--seconds`` each (every scenario and
every upstream endpoint once per round, the order reversed every other round), the added p50
(gateway p50 minus the upstream's own p50 in the same round), its difference from chat's in
the same round, and the gateway's CPU time per request; at ``--connections``, ``--passes``
passes (the order reversed every other pass): requests/s (mean of the passes), p99 and CPU
per request (the last pass's), and the ratio to chat's requests/s (median of the passes'
ratios, with their range). Then each scenario against its acceptance line: Responses within
0.1 ms of chat's added p50 and ≥ 80% of its requests/s; Messages within 0.1 ms (its
throughput ratio printed for information).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import httpx
import psycopg
from psycopg import sql

from tests.benchmarks.gateway import (
    Run,
    Stack,
    bench_stack,
    cpu_s,
    models,
    running_gateway,
    wrk,
)
from tests.support.net import free_port

_PROMPT = "Say hello in one line."
_CHAT_PATH = "/v1/chat/completions"
_RESPONSES_PATH = "/v1/responses"
_MESSAGES_PATH = "/v1/messages"
_ANTHROPIC_VERSION = "2023-06-01"


@dataclass(frozen=True)
class Scenario:
    """One kind of request: where it goes on the gateway, and which upstream endpoint it
    reaches (``direct``, a path on the fake upstream) for the added-latency baseline."""

    name: str
    path: str
    body: dict[str, object]
    direct: str
    baseline: str  # the chat scenario it is compared with

    def headers(self, key: str) -> dict[str, str]:
        """How the key goes: as Anthropic's SDK sends it on /v1/messages, else as a Bearer."""
        if self.path == _MESSAGES_PATH:
            return {"x-api-key": key, "anthropic-version": _ANTHROPIC_VERSION}
        return {"Authorization": f"Bearer {key}"}


def _chat(name: str, model: str, *, stream: bool, direct: str) -> Scenario:
    body: dict[str, object] = {
        "model": model,
        "messages": [{"role": "user", "content": _PROMPT}],
        "stream": stream,
    }
    return Scenario(name, _CHAT_PATH, body, direct, name)


def _responses(
    name: str, model: str, *, stream: bool, store: bool, direct: str, baseline: str
) -> Scenario:
    body: dict[str, object] = {"model": model, "input": _PROMPT, "stream": stream, "store": store}
    return Scenario(name, _RESPONSES_PATH, body, direct, baseline)


def _messages(name: str, model: str, *, stream: bool, direct: str, baseline: str) -> Scenario:
    body: dict[str, object] = {
        "model": model,
        "max_tokens": 256,
        "messages": [{"role": "user", "content": _PROMPT}],
        "stream": stream,
    }
    return Scenario(name, _MESSAGES_PATH, body, direct, baseline)


SCENARIOS = (
    _chat("chat", "bench", stream=False, direct="/json/v1/chat/completions"),
    _responses(
        "responses translate",
        "bench-translate",
        stream=False,
        store=False,
        direct="/json/v1/chat/completions",
        baseline="chat",
    ),
    _responses(
        "responses native",
        "bench",
        stream=False,
        store=False,
        direct="/json/v1/responses",
        baseline="chat",
    ),
    _responses(
        "responses translate, store",
        "bench-translate",
        stream=False,
        store=True,
        direct="/json/v1/chat/completions",
        baseline="chat",
    ),
    _messages(
        "messages",
        "bench-translate",
        stream=False,
        direct="/json/v1/chat/completions",
        baseline="chat",
    ),
    _chat("chat stream", "bench-stream", stream=True, direct="/sse/v1/chat/completions"),
    _responses(
        "responses translate stream",
        "bench-translate-stream",
        stream=True,
        store=False,
        direct="/sse/v1/chat/completions",
        baseline="chat stream",
    ),
    _responses(
        "responses native stream",
        "bench-stream",
        stream=True,
        store=False,
        direct="/sse/v1/responses",
        baseline="chat stream",
    ),
    _messages(
        "messages stream",
        "bench-translate-stream",
        stream=True,
        direct="/sse/v1/chat/completions",
        baseline="chat stream",
    ),
)


def aliases(upstream: str) -> dict[str, object]:
    """The gateway benchmark's ``bench`` and ``bench-stream`` pinned to native, and a
    translated twin of each (``bench-translate``, ``bench-translate-stream``)."""
    base = cast(dict[str, dict[str, list[dict[str, object]]]], models(upstream))
    served: dict[str, object] = {}
    for name, twin in (("bench", "bench-translate"), ("bench-stream", "bench-translate-stream")):
        for alias, mode in ((name, "native"), (twin, "translate")):
            deployments = [
                {**d, "name": f"{d['name']}-{mode}", "responses_api": mode}
                for d in base[name]["deployments"]
            ]
            served[alias] = {"deployments": deployments}
    return served


@dataclass
class Measured:
    """What one scenario gave: per 1-connection round (gateway run, direct p50, CPU/req),
    and its run at N connections with CPU per request."""

    rounds: list[tuple[Run, float, float]]
    many: list[tuple[Run, float]]

    def added(self) -> list[float]:
        return [run.p50_ms - direct for run, direct, _ in self.rounds]

    def errors(self) -> int:
        return sum(run.errors for run, _, _ in self.rounds) + sum(
            run.errors for run, _ in self.many
        )

    def rps(self) -> float:
        return statistics.mean(run.rps for run, _ in self.many)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="1-connection rounds")
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds per 1-connection run")
    parser.add_argument("--passes", type=int, default=2, help="N-connection passes")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per N-connection run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--async-commit", action="store_true", help="synchronous_commit = off on the database"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("this benchmark needs wrk: apt-get install wrk")
    with tempfile.TemporaryDirectory(prefix="ragway-bench-") as tmp:
        folder = Path(tmp)
        os.chmod(folder, 0o755)  # the embedded Postgres runs as its own user
        port = free_port()
        with bench_stack(folder) as stack:
            if args.async_commit:
                _async_commit(stack.database_url)
            served = aliases(stack.upstream_url)
            with running_gateway(stack, port, aliases=served) as gateway:
                run(args, stack, f"http://127.0.0.1:{port}", gateway.pid)


def _async_commit(database_url: str) -> None:
    """Commits that do not wait for their WAL flush, for every connection opened after."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute("SELECT current_database()").fetchone()
        assert row is not None
        name = sql.Identifier(row[0])
        conn.execute(sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(name))


def run(args: argparse.Namespace, stack: Stack, base: str, pid: int) -> None:
    print(
        f"upstream: {stack.upstream_kind}; gateway: 1 worker (pid {pid}); wrk -t1; "
        f"{args.rounds} rounds of {args.seconds:g} s at 1 connection, "
        f"{args.passes} passes of {args.duration:g} s at {args.connections} connections"
        + ("; synchronous_commit = off" if args.async_commit else "")
    )
    for scenario in SCENARIOS:
        _check(base, stack.key, scenario)
        wrk(
            base + scenario.path,
            scenario.body,
            stack.key,
            4,
            1,
            headers=scenario.headers(stack.key),
        )
    measured = {s.name: Measured([], []) for s in SCENARIOS}
    directs = sorted({s.direct for s in SCENARIOS})
    for number in range(max(1, args.rounds)):
        order = list(SCENARIOS) if number % 2 == 0 else list(reversed(SCENARIOS))
        direct_p50 = {
            path: wrk(stack.upstream_url + path, {}, stack.key, 1, args.seconds).p50_ms
            for path in directs
        }
        for scenario in order:
            gateway, cpu_us = _through(base, stack.key, scenario, pid, 1, args.seconds)
            measured[scenario.name].rounds.append((gateway, direct_p50[scenario.direct], cpu_us))
    for number in range(max(1, args.passes)):
        order = list(SCENARIOS) if number % 2 == 0 else list(reversed(SCENARIOS))
        for scenario in order:
            many = _through(base, stack.key, scenario, pid, args.connections, args.duration)
            measured[scenario.name].many.append(many)
    report(measured, args.connections)


def _check(base: str, key: str, scenario: Scenario) -> None:
    """One request first: a benchmark of error responses would measure nothing."""
    answer = httpx.post(
        base + scenario.path,
        json=scenario.body,
        headers=scenario.headers(key),
        timeout=30,
    )
    if answer.status_code != 200:
        sys.exit(f"{scenario.name}: HTTP {answer.status_code}: {answer.text[:500]}")


def _through(
    base: str, key: str, scenario: Scenario, pid: int, connections: int, seconds: float
) -> tuple[Run, float]:
    before = cpu_s(pid)
    result = wrk(
        base + scenario.path,
        scenario.body,
        key,
        connections,
        seconds,
        headers=scenario.headers(key),
    )
    return result, (cpu_s(pid) - before) / max(result.requests, 1) * 1e6


def report(measured: dict[str, Measured], conns: int) -> None:
    print()
    print(
        "| scenario | p50 direct (1c) | added p50 (1c): median [range] | minus chat's, paired "
        f"median [range] | gateway CPU/req (1c) | req/s ({conns}c) | vs chat | p99 ({conns}c) "
        f"| gateway CPU/req ({conns}c) | errors |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    verdicts = []
    for scenario in SCENARIOS:
        mine, chat = measured[scenario.name], measured[scenario.baseline]
        added = mine.added()
        paired = [a - c for a, c in zip(added, chat.added(), strict=True)]
        ratios = [m.rps / c.rps for (m, _), (c, _) in zip(mine.many, chat.many, strict=True)]
        ratio = statistics.median(ratios)
        last, last_cpu_us = mine.many[-1]
        print(
            f"| {scenario.name} | {statistics.median(d for _, d, _ in mine.rounds):.3f} ms | "
            f"{statistics.median(added):.3f} ms [{min(added):.3f} to {max(added):.3f}] | "
            f"{_signed(statistics.median(paired))} ms [{_signed(min(paired))} to "
            f"{_signed(max(paired))}] | {statistics.median(c for _, _, c in mine.rounds):.0f} µs | "
            f"{mine.rps():,.0f} | {ratio:.1%} [{min(ratios):.0%} to {max(ratios):.0%}] | "
            f"{last.p99_ms:.1f} ms | {last_cpu_us:.0f} µs | {mine.errors()} |"
        )
        if scenario.name != scenario.baseline:
            verdicts.append(_verdict(scenario, statistics.median(paired), ratio))
    print()
    for name, values in measured.items():
        rounds = ", ".join(f"{value:.3f}" for value in values.added())
        passes = ", ".join(f"{run.rps:,.0f}" for run, _ in values.many)
        print(f"{name}: added p50 per 1-connection round (ms): {rounds}; req/s per pass: {passes}")
    print()
    print("\n".join(verdicts))


def _verdict(scenario: Scenario, added: float, ratio: float) -> str:
    """The acceptance line: Responses' is 0.1 ms and 80% of chat's req/s; Messages' is the
    0.1 ms alone, its throughput given for information against the same 80%."""
    head = f"{scenario.name}: added p50 {_signed(added)} ms vs {scenario.baseline} (≤ +0.1)"
    if scenario.path == _MESSAGES_PATH:
        throughput = "at or above" if ratio >= 0.8 else "below"
        return (
            f"{head}: {'met' if added <= 0.1 else 'NOT met'}; {ratio:.1%} of its req/s "
            f"(for information: {throughput} 80%)"
        )
    within = added <= 0.1 and ratio >= 0.8
    return f"{head}, {ratio:.1%} of its req/s (≥ 80%): {'within' if within else 'NOT within'}"


def _signed(value: float) -> str:
    return f"{value:+.3f}"


if __name__ == "__main__":
    main()
