"""``python -m tests.benchmarks [NAME ...]``: run every benchmark module (or the named ones).

Each module in this package is a script with a ``main()`` that reads its own command-line
options (defaults are the figures the issues name) and prints its report. ``make bench`` runs
them all in one go, each in its own process so one's memory or event loop never affects
another's figures.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path


def _modules() -> list[str]:
    here = Path(__file__).parent
    return sorted(
        info.name
        for info in pkgutil.iter_modules([str(here)])
        if not info.name.startswith("_") and not info.ispkg
    )


def main(argv: list[str]) -> int:
    available = _modules()
    chosen = argv or available
    unknown = sorted(set(chosen) - set(available))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}")
        return 2
    failed: list[str] = []
    for name in chosen:
        print(f"\n=== {name} ===", flush=True)
        code = subprocess.call([sys.executable, "-m", f"tests.benchmarks.{name}"])
        if code != 0:
            failed.append(name)
    if failed:
        print(f"\nbenchmarks that failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
