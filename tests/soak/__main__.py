"""``python -m tests.soak``: see ``tests/soak/__init__.py``; ``--help`` for the options."""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path

from tests.soak._soak import Options, run
from tests.soak._traffic import KINDS

_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}


def seconds(text: str) -> float:
    """``90``, ``45s``, ``2m``, ``1.5h`` -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if match is None:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 90s, 30m, 1h)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def kinds(text: str) -> tuple[str, ...]:
    """``chat,search`` -> the traffic kinds named (all must be known)."""
    chosen = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = sorted(set(chosen) - set(KINDS))
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"unknown kind(s) {unknown}; known: {', '.join(KINDS)}")
    return chosen


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.soak",
        description="Soak the whole stack with mixed traffic and check memory stays flat.",
    )
    parser.add_argument(
        "--duration",
        type=seconds,
        default=seconds("30m"),
        help="measured time after warm-up (default 30m)",
    )
    parser.add_argument(
        "--warmup",
        type=seconds,
        default=seconds("2m"),
        help="load before the start sample (default 2m)",
    )
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight (default 4)")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="requests/s over all slots; 0: unpaced (default)"
    )
    parser.add_argument(
        "--sample-every",
        type=seconds,
        default=seconds("1m"),
        help="RSS sample interval (default 1m)",
    )
    parser.add_argument(
        "--mix",
        type=kinds,
        default=tuple(KINDS),
        help=f"traffic kinds to send, comma-separated (default: all of {','.join(KINDS)})",
    )
    parser.add_argument(
        "--seed-files", type=int, default=8, help="documents in the store before the start"
    )
    parser.add_argument(
        "--keep-files", type=int, default=20, help="uploaded files kept; older ones are deleted"
    )
    parser.add_argument(
        "--max-growth",
        type=float,
        default=10.0,
        help="allowed RSS growth after warm-up, %% (default 10)",
    )
    parser.add_argument(
        "--max-error-rate",
        type=float,
        default=0.001,
        help="allowed share of failed requests (default 0.001)",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="report folder (default /tmp/ragway-soak-<UTC time>)"
    )
    args = parser.parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    options = Options(
        duration_s=args.duration,
        warmup_s=args.warmup,
        concurrency=args.concurrency,
        rate=args.rate,
        sample_every_s=args.sample_every,
        seed_files=args.seed_files,
        keep_files=args.keep_files,
        kinds=args.mix,
        max_growth_pct=args.max_growth,
        max_error_rate=args.max_error_rate,
        out=args.out or Path(f"/tmp/ragway-soak-{stamp}"),
        command=shlex.join(["python", "-m", "tests.soak", *argv]),
    )
    return run(options)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
