"""Client traffic for the multi-host tests: threads of the official ``openai`` SDK sending
small chat completions back to back through HAProxy, each answer recorded with the server
HAProxy says gave it; and the timings each scenario measured, printed and kept in a report.
"""

from __future__ import annotations

import json
import os
import platform
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import openai
from openai import OpenAI

from tests.multi_host._haproxy import BACKEND_HEADER

__all__ = ["REPORT", "Reply", "Traffic", "record"]

REPORT = Path(os.environ.get("RAGWAY_MULTI_HOST_REPORT", "/tmp/ragway-multi-host-report.json"))


@dataclass(frozen=True)
class Reply:
    sent: float  # monotonic
    at: float
    status: int  # 0: no HTTP answer at all
    backend: str | None  # the gateway HAProxy sent it to (on answers that passed it)
    code: str | None = None  # the error's code, on errors


@dataclass
class Traffic:
    """``threads`` SDK clients, each sending at most one request per ``pace_s``."""

    url: str
    key: str
    threads: int = 4
    pace_s: float = 0.05
    replies: list[Reply] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._workers = [
            threading.Thread(target=self._run, daemon=True) for _ in range(self.threads)
        ]

    def __enter__(self) -> Traffic:
        for worker in self._workers:
            worker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=60)

    def snapshot(self) -> list[Reply]:
        return list(self.replies)

    def count(self, status: int) -> int:
        return sum(1 for reply in self.snapshot() if reply.status == status)

    def _run(self) -> None:
        client = OpenAI(base_url=f"{self.url}/v1", api_key=self.key, max_retries=0, timeout=30)
        with client:
            while not self._stop.is_set():
                sent = time.monotonic()
                self.replies.append(self._one(client, sent))
                time.sleep(max(0.0, sent + self.pace_s - time.monotonic()))

    @staticmethod
    def _one(client: OpenAI, sent: float) -> Reply:
        try:
            raw = client.chat.completions.with_raw_response.create(
                model="chat", messages=[{"role": "user", "content": "ping"}]
            )
        except openai.APIStatusError as exc:
            body = exc.body if isinstance(exc.body, dict) else {}
            code = body.get("code") if "code" in body else (body.get("error") or {}).get("code")
            backend = exc.response.headers.get(BACKEND_HEADER)
            return Reply(sent, time.monotonic(), exc.status_code, backend, code)
        except openai.APIConnectionError:
            return Reply(sent, time.monotonic(), 0, None)
        raw.parse()
        return Reply(sent, time.monotonic(), raw.status_code, raw.headers.get(BACKEND_HEADER))


def record(scenario: str, numbers: dict[str, float | int | str]) -> None:
    """Print a scenario's measurements and keep them in ``REPORT`` (one entry per scenario,
    with the date and machine)."""
    entry = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} ({os.cpu_count()} CPUs, {platform.machine()})",
        **numbers,
    }
    print(f"\n[multi_host] {scenario}: {json.dumps(entry)}")
    try:
        report = json.loads(REPORT.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        report = {}
    report[scenario] = entry
    REPORT.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
