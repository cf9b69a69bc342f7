"""Exactness across processes: N real processes hammer keys against one real Redis."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections import Counter

from tests.support.services import RedisForTests

PROCESSES = 4
PER_PROCESS = 150


def test_processes_admit_exactly_the_limit(redis_service: RedisForTests) -> None:
    by_rpm, by_day = "key_" + secrets.token_hex(6), "key_" + secrets.token_hex(6)
    start = time.time() + 3.0  # every process is up before the first request
    args = [redis_service.url, redis_service.key_prefix, PER_PROCESS, start]
    args += [f"{by_rpm}:257:0", f"{by_day}:0:{7 * 311}"]  # each request reserves 7 tokens
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.support.quota_hammer", *map(str, args)],
            stdout=subprocess.PIPE,
            env={**os.environ},
        )
        for _ in range(PROCESSES)
    ]
    totals: dict[str, Counter[str]] = {by_rpm: Counter(), by_day: Counter()}
    for process in processes:
        out, _ = process.communicate(timeout=60)
        assert process.returncode == 0
        for key_id, counts in json.loads(out).items():
            totals[key_id].update(counts)
    attempts = PROCESSES * PER_PROCESS
    assert totals[by_rpm] == Counter({"admitted": 257, "rpm": attempts - 257})
    assert totals[by_day] == Counter({"admitted": 311, "tokens_per_day": attempts - 311})
