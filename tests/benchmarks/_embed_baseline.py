"""The baseline of ``tests.benchmarks.ingestion``, in a process of its own.

``python -m tests.benchmarks._embed_baseline BATCHES.json``: loads the configured embedder
(default settings, as the benchmark's worker), warms it up on the largest batch, embeds the
batches in order and prints the seconds that took. A process of its own, like the worker's
embedder: no gateway threads, database clients or other Python threads share its GIL.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from configs import load_settings
from inference.embedders import build_embedder


def main() -> None:
    batches: list[list[str]] = json.loads(Path(sys.argv[1]).read_text())
    embedder = build_embedder(load_settings(config_files=[], env={}).inference.embedder)
    embedder.embed(max(batches, key=len))  # warm-up, untimed
    started = time.perf_counter()
    for batch in batches:
        embedder.embed(batch)
    print(time.perf_counter() - started)


if __name__ == "__main__":
    main()
