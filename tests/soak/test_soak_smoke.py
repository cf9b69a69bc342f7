"""The soak runner, briefly: a real stack, a few seconds of traffic, a report, nothing left.

The default run leaves uploads out of the mix: a worker's first ingestion loads the parser
and the embedder, which alone takes longer than this test may. The slow test runs the full
mix and checks that Ctrl-C stops everything.
"""

from __future__ import annotations

import ast
import csv
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.soak._memory import GroupSample, alive
from tests.soak._report import growth_rows, latency_rows, slope_per_hour, verdict

REPO = Path(__file__).resolve().parents[2]
FAST_MIX = "chat,chat_stream,embeddings,search,file_search_chat,responses,messages"
STACK = ("supervisor", "gateway", "worker", "postgres", "redis")


def _soak(out: Path, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "tests.soak",
        "--warmup", "2s", "--sample-every", "2s", "--concurrency", "2",
        "--max-growth", "1000",  # seconds of load say nothing of leaks; the verdict is tested below
        "--out", str(out), *args,
    ]  # fmt: skip


def _check_report(out: Path, kinds: list[str]) -> None:
    report = json.loads((out / "report.json").read_text())
    assert report["passed"], report["failures"]
    assert report["errors"] == {}
    for kind in kinds:
        row = report["traffic"][kind]
        assert row["ok"] > 0, kind
        assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"] <= row["max_ms"], kind
    for group in STACK:
        memory = report["memory"][group]
        assert memory["processes_start"] >= 1, group
        assert memory["rss_start_mib"] > 0, group
        assert memory["rss_end_mib"] > 0, group
    assert report["memory"]["postgres"]["processes_start"] > 1  # the backends are counted
    with (out / "rss.csv").open() as file:
        phases = {row["phase"] for row in csv.DictReader(file)}
    assert {"begin", "start", "end"} <= phases
    pids = report["pids"]
    assert set(STACK) <= set(pids)
    assert not [name for name, pid in pids.items() if pid and alive(pid)], "left running"


def test_soak_runs_mixed_traffic_reports_and_stops_everything(tmp_path: Path) -> None:
    out = tmp_path / "soak"
    args = _soak(out, "--duration", "6s", "--mix", FAST_MIX, "--seed-files", "0")
    result = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=170)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "| chat_stream |" in result.stdout
    _check_report(out, FAST_MIX.split(","))


def test_verdict_fails_on_growth_errors_and_silent_kinds() -> None:
    start = {"gateway": GroupSample(1, 100.0, 50.0), "postgres": GroupSample(5, 300.0, 40.0)}
    end = {"gateway": GroupSample(1, 111.0, 60.0), "postgres": GroupSample(5, 400.0, 42.0)}
    memory = growth_rows(start, end, {"gateway": 111.0})
    errors = Counter({"chat: HTTP 502": 1})
    latencies = latency_rows({"chat": [0.01] * 99, "upload": []}, errors, 10.0, ("chat", "upload"))
    reasons = verdict(memory, latencies, max_growth_pct=10, max_error_rate=0.001)
    assert reasons == [
        "gateway rss grew 11.0% (limit 10%)",  # postgres: RSS +33% is shared buffers; private +5%
        "error rate 1.000% over the limit 0.100%",
        "no upload request succeeded",
    ]
    assert verdict(memory, latencies, max_growth_pct=12, max_error_rate=0.02) == [
        "no upload request succeeded"
    ]


def test_memory_trend_is_the_least_squares_slope_per_hour() -> None:
    assert slope_per_hour([(0.0, 100.0), (900.0, 104.0), (1800.0, 105.0)]) == pytest.approx(10.0)
    start, end = GroupSample(3, 300.0, 40.0), GroupSample(3, 360.0, 41.0)
    history = {"postgres": [(0.0, start), (1800.0, end)]}
    (row,) = growth_rows({"postgres": start}, {"postgres": end}, {}, history)
    assert row.trend_mib_per_h == pytest.approx(2.0)  # private memory, not RSS
    assert row.growth_pct == pytest.approx(2.5)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_full_mix_with_uploads_then_ctrl_c_stops_the_stack(tmp_path: Path) -> None:
    out = tmp_path / "full"
    args = _soak(out, "--duration", "20s", "--seed-files", "2")
    result = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    _check_report(out, ["upload", *FAST_MIX.split(",")])

    log = tmp_path / "interrupted.out"
    args = _soak(tmp_path / "interrupted", "--duration", "10m", "--seed-files", "0")
    with log.open("w") as sink:
        process = subprocess.Popen(args, cwd=REPO, stdout=sink)
        try:
            deadline = time.monotonic() + 300
            while "seeded" not in log.read_text():
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.5)
            time.sleep(3)  # traffic is flowing
        finally:
            process.send_signal(signal.SIGINT)
            code = process.wait(180)
    assert code == 130
    text = log.read_text()
    assert "stack stopped" in text
    assert "had to kill" not in text
    pids = ast.literal_eval(text.split("processes: ", 1)[1].split("\n", 1)[0])
    assert not [name for name, pid in pids.items() if pid and alive(pid)], "left running"
