"""Ingestion throughput: the whole pipeline against the embedder alone, in the same run.

``python -m tests.benchmarks.ingestion [--pages 200] [--corpus pdf mixed scanned]
[--threads 2] [--rounds 1] [--ocr-pages 10]``

Starts its own Postgres, Redis, gateway (in a thread) and one real ``ragway worker``
process, warms the worker up (model load excluded), uploads a generated corpus, then times
``file_batches.create`` -> every file completed: parse, chunk, embed and store through the
queue. Baseline: the configured embedder in a fresh process of its own (like the worker's;
this one runs the gateway, whose threads would take the GIL from it) embedding exactly the
chunk texts the pipeline stored in exactly the pipeline's batches (each file's chunks in
order, ``embed_batch_size`` at a time: a file's last batch is short, as in the worker),
after a warm-up on a batch of the same texts, with the same torch thread count. It runs
right after each pipeline run while the worker idles, so background load drifts as little
as possible between the two; ``--rounds`` alternates them several times. The 1-minute load
average is printed around every phase: on a shared machine compare within one line only.
Reports chunks/s of both and the ratio (target >= 85%) per corpus and round:

- ``pdf``: PDFs of 10 dense pages (about 540 words a page): pdfminer's layout analysis
  (unstructured's fast strategy) is the costly parser;
- ``mixed``: DOCX, HTML, Markdown and text files, a "page" being 540 words;
- ``scanned``: PDFs of 10 pages, every fifth page of the corpus (20%) a scan without a text
  layer (``_scanned``), which the worker OCRs with Tesseract. Before its rounds, OCR's own
  throughput: ``--ocr-pages`` one-page scans parsed in this process, one after another.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import itertools
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from openai import OpenAI

from configs import load_settings
from gateway.entry.app import create_app
from gateway.policy.keys import hash_key
from ingestion.db import migrate
from tests.benchmarks._scanned import ocr_throughput, scanned_corpus
from tests.support.documents import make_pdf
from tests.support.net import free_port
from tests.support.prometheus import metric_value
from tests.support.servers import ServerThread, start_process
from tests.support.services import postgres_for_tests, redis_for_tests

_WORDS = [
    "system",
    "network",
    "storage",
    "memory",
    "compute",
    "cluster",
    "policy",
    "model",
    "token",
    "vector",
    "search",
    "index",
    "query",
    "result",
    "document",
    "page",
    "section",
    "river",
    "mountain",
    "harbour",
    "engine",
    "budget",
    "contract",
    "patient",
    "protein",
    "climate",
    "market",
    "energy",
    "station",
    "signal",
    "archive",
    "library",
    "garden",
    "bridge",
]
_PAGE_LINES, _LINE_WORDS, _PAGES_PER_FILE = 45, 12, 10


def _page(rng: random.Random, number: int) -> list[str]:
    lines = [f"Chapter {number}"]
    for _ in range(_PAGE_LINES):
        words = [rng.choice(_WORDS) for _ in range(_LINE_WORDS)]
        lines.append(" ".join(words).capitalize() + ".")
    return lines


def _corpus(kind: str, pages: int, seed: int) -> list[tuple[str, bytes]]:
    if kind == "scanned":
        return scanned_corpus(_page, pages, seed, per_file=_PAGES_PER_FILE)
    rng = random.Random(seed)
    files: list[tuple[str, bytes]] = []
    for index in range(0, pages, _PAGES_PER_FILE):
        chunk = [_page(rng, n) for n in range(index, min(pages, index + _PAGES_PER_FILE))]
        if kind == "pdf":
            files.append((f"doc{index}.pdf", make_pdf(chunk)))
            continue
        flavour = ("docx", "html", "md", "txt")[(index // _PAGES_PER_FILE) % 4]
        files.append((f"doc{index}.{flavour}", _text_file(flavour, chunk)))
    return files


def _text_file(flavour: str, pages: list[list[str]]) -> bytes:
    if flavour == "docx":
        import docx

        document = docx.Document()
        for page in pages:
            document.add_heading(page[0], 1)
            for start in range(1, len(page), 5):
                document.add_paragraph(" ".join(page[start : start + 5]))
        buffer = io.BytesIO()
        document.save(buffer)
        return buffer.getvalue()
    parts: list[str] = []
    for page in pages:
        paragraphs = [" ".join(page[s : s + 5]) for s in range(1, len(page), 5)]
        if flavour == "html":
            parts.append(f"<h1>{page[0]}</h1>" + "".join(f"<p>{p}</p>" for p in paragraphs))
        elif flavour == "md":
            parts.append(f"# {page[0]}\n\n" + "\n\n".join(paragraphs))
        else:
            parts.append(page[0].upper() + "\n\n" + "\n\n".join(paragraphs))
    joined = "\n\n".join(parts)
    return (f"<html><body>{joined}</body></html>" if flavour == "html" else joined).encode()


def _admin_key(database_url: str) -> str:
    key = f"rgw-bench-{secrets.token_hex(16)}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO api_keys (id, key_hash, display_prefix, name, role) "
            "VALUES (%s, %s, %s, 'bench', 'admin')",
            (f"key_{secrets.token_hex(6)}", hash_key(key), key[:12]),
        )
    return key


def _upload(client: OpenAI, files: list[tuple[str, bytes]]) -> list[str]:
    return [client.files.create(file=f, purpose="assistants").id for f in files]


def _run_pipeline(client: OpenAI, ids: list[str], name: str) -> tuple[str, float]:
    store = client.vector_stores.create(name=name).id
    started = time.perf_counter()
    batch = client.vector_stores.file_batches.create(vector_store_id=store, file_ids=ids)
    while True:
        batch = client.vector_stores.file_batches.retrieve(batch.id, vector_store_id=store)
        if batch.status != "in_progress":
            break
        time.sleep(0.1)
    elapsed = time.perf_counter() - started
    if batch.file_counts.completed != len(ids):
        raise RuntimeError(f"{name}: not every file completed: {batch.file_counts}")
    return store, elapsed


def _pipeline_batches(database_url: str, store: str, batch_size: int) -> list[list[str]]:
    """The stored chunk texts in the batches the worker embedded them in."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT file_id, content FROM chunks WHERE vector_store_id = %s "
            "ORDER BY file_id, chunk_index",
            (store,),
        ).fetchall()
    batches: list[list[str]] = []
    for _file, group in itertools.groupby(rows, key=lambda row: row[0]):
        texts = [content for _, content in group]
        batches.extend(texts[s : s + batch_size] for s in range(0, len(texts), batch_size))
    return batches


def _time_embedder(batches: list[list[str]], folder: Path) -> float:
    """Seconds the embedder alone takes for ``batches``, in a fresh process (see
    ``_embed_baseline``): this one also runs the gateway, whose threads take the GIL."""
    source = folder / "batches.json"
    source.write_text(json.dumps(batches))
    done = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks._embed_baseline", str(source)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "RAGWAY_CONFIG": ""},
    )
    return float(done.stdout.split()[-1])


_STAGES = ("parse", "chunk", "embed", "store")


def _stage_seconds(port: int) -> list[float]:
    """Seconds the worker spent per pipeline stage so far (``ragway_ingestion_stage_seconds``)."""
    url = f"http://127.0.0.1:{port}/metrics"
    return [metric_value(url, "ragway_ingestion_stage_seconds_sum", stage=s) for s in _STAGES]


def _load() -> float:
    return os.getloadavg()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument(
        "--corpus", nargs="+", default=["pdf", "mixed"], choices=["pdf", "mixed", "scanned"]
    )
    parser.add_argument("--ocr-pages", type=int, default=10, help="scans timed alone (OCR)")
    parser.add_argument("--threads", type=int, default=2, help="worker threads")
    parser.add_argument("--rounds", type=int, default=1, help="pipeline/baseline pairs per corpus")
    args = parser.parse_args()
    os.environ.setdefault("DO_NOT_TRACK", "1")
    if "scanned" in args.corpus:
        start = _load()
        per_s, cpu, elements = ocr_throughput(_page, args.ocr_pages)
        print(
            f"OCR alone: {args.ocr_pages} one-page scans, {per_s:.2f} pages/s, "
            f"{cpu:.2f} CPU s a page (Tesseract's included), {elements} elements; "
            f"load avg {start:.1f} / {_load():.1f}",
            flush=True,
        )
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        with (
            postgres_for_tests(os.environ.get("TEST_DATABASE_URL"), root / "pg") as postgres,
            redis_for_tests(os.environ.get("TEST_REDIS_URL"), root / "redis") as redis_service,
        ):
            database_url = postgres.create_database("ragway_bench")
            metrics_port = free_port()
            asyncio.run(migrate(database_url))
            env = {
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_service.url,
                "RAGWAY_REDIS__KEY_PREFIX": redis_service.key_prefix,
                "RAGWAY_WORKER__NAMESPACE": redis_service.namespace,
                "RAGWAY_DATA_DIR": str(root / "data"),
                "RAGWAY_WORKER__THREADS": str(args.threads),
                "RAGWAY_LOGGING__LEVEL": "WARNING",
                "RAGWAY_INGESTION__METRICS_PORT": str(metrics_port),
                "RAGWAY_CONFIG": "",
            }
            settings = load_settings(config_files=[], env=env)
            batch_size = settings.ingestion.embed_batch_size
            key = _admin_key(database_url)
            app = create_app(settings, database_url=database_url, redis_url=redis_service.url)
            import torch

            print(
                f"worker threads {args.threads}, embed batch {batch_size}, "
                f"chunks of {settings.ingestion.chunking.auto_max_chunk_size_tokens} tokens, "
                f"torch threads {torch.get_num_threads()} (the worker's default too), "
                f"{os.cpu_count()} CPUs"
            )
            print(
                f"{'corpus':8} {'round':>5} {'files':>5} {'pages':>5} {'chunks':>6} "
                f"{'pipeline/s':>10} {'embedder/s':>10} {'ratio':>6}  load avg (start/mid/end)  "
                "worker stage seconds (parse / chunk / embed / store, summed over files)",
                flush=True,
            )
            worker = start_process(["worker"], env)
            try:
                with ServerThread(app) as server:
                    client = OpenAI(base_url=f"{server.base_url}/v1", api_key=key, timeout=600)
                    warm = [*_corpus("mixed", 10, seed=0), *_corpus("pdf", 10, seed=0)]
                    if "scanned" in args.corpus:
                        warm += _corpus("scanned", 5, seed=0)
                    _run_pipeline(client, _upload(client, warm), "warm-up")  # model, parsers
                    for kind in args.corpus:
                        files = _corpus(kind, args.pages, seed=1)
                        ids = _upload(client, files)
                        for round_ in range(1, args.rounds + 1):
                            start = _load()
                            stages = _stage_seconds(metrics_port)
                            store, elapsed = _run_pipeline(client, ids, f"bench-{kind}-{round_}")
                            spent = " / ".join(
                                f"{after - before:.1f}"
                                for before, after in zip(
                                    stages, _stage_seconds(metrics_port), strict=True
                                )
                            )
                            middle = _load()
                            batches = _pipeline_batches(database_url, store, batch_size)
                            baseline_s = _time_embedder(batches, root)
                            chunks = sum(len(b) for b in batches)
                            pipeline, baseline = chunks / elapsed, chunks / baseline_s
                            print(
                                f"{kind:8} {round_:5d} {len(files):5d} {args.pages:5d} "
                                f"{chunks:6d} {pipeline:10.1f} {baseline:10.1f} "
                                f"{pipeline / baseline:6.1%}  "
                                f"{start:.1f} / {middle:.1f} / {_load():.1f}  {spent}",
                                flush=True,
                            )
            finally:
                worker.send_signal(signal.SIGTERM)
                worker.wait(timeout=60)


if __name__ == "__main__":
    main()
