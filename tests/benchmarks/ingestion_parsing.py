"""PDF parsing CPU per page, each text engine, on the ingestion benchmark's PDF corpus.

``python -m tests.benchmarks.ingestion_parsing [--pages 200] [--repeat 3] [--pdf PATH ...]``

Parses the corpus ``tests.benchmarks.ingestion`` builds (10 dense pages a file, the same
seed) with ``UnstructuredParser`` as a worker's parse child does, once per
``ingestion.parsing.pdf_engine``, after a warm-up file (imports, spaCy). Reports CPU time
(``time.process_time``: robust to other load on the machine, unlike wall time) per page,
the least of ``--repeat`` passes. ``--pdf`` adds real PDFs of your own as a second corpus.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Literal

from ingestion.parsing import UnstructuredParser
from tests.benchmarks.ingestion import _corpus

Engine = Literal["pdfium", "pdfminer"]
ENGINES: tuple[Engine, ...] = ("pdfium", "pdfminer")


def _cpu_per_page(engine: Engine, paths: list[Path], repeat: int) -> tuple[float, int, int]:
    """(least CPU seconds a page, pages, elements) of parsing ``paths`` with ``engine``."""
    parser = UnstructuredParser(pdf_engine=engine, max_pages=100_000)
    parser.parse(paths[0], filename=paths[0].name)
    best = float("inf")
    pages = elements = 0
    for _ in range(repeat):
        started = time.process_time()
        parsed = [parser.parse(path, filename=path.name) for path in paths]
        best = min(best, time.process_time() - started)
        elements = sum(len(found) for found in parsed)
        pages = sum(max(e.page_number or 0 for e in found) for found in parsed)
    return best / max(pages, 1), pages, elements


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pdf", type=Path, nargs="*", default=[], help="more PDFs to time")
    args = parser.parse_args()
    os.environ.setdefault("DO_NOT_TRACK", "1")
    with tempfile.TemporaryDirectory() as folder:
        generated = []
        for name, data in _corpus("pdf", args.pages, seed=1):
            generated.append(Path(folder) / name)
            generated[-1].write_bytes(data)
        corpora = [("benchmark corpus", generated)]
        if args.pdf:
            corpora.append(("--pdf files", list(args.pdf)))
        print(f"{'corpus':18} {'engine':9} {'pages':>6} {'elements':>8} {'CPU ms/page':>11}")
        for label, paths in corpora:
            for engine in ENGINES:
                per_page, pages, elements = _cpu_per_page(engine, paths, args.repeat)
                print(
                    f"{label:18} {engine:9} {pages:6d} {elements:8d} {per_page * 1000:11.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
