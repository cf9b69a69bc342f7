"""Ingestion throughput: the whole pipeline against the embedder alone, in the same run.

``python -m tests.benchmarks.ingestion [--pages 200] [--corpus pdf mixed] [--threads 2]``

Starts its own Postgres, Redis, gateway (in a thread) and one real ``ragway worker``
process, warms the worker up (model load excluded), uploads a generated corpus, then times
``file_batches.create`` -> every file completed: parse, chunk, embed and store through the
queue. Baseline: the configured embedder, loaded in this process after the worker stopped,
embedding exactly the chunk texts the pipeline stored, with the pipeline's batch size.
Reports chunks/s of both and the ratio (target >= 85%) per corpus:

- ``pdf``: PDFs of 10 dense pages (about 540 words a page): pdfminer's layout analysis
  (unstructured's fast strategy) is the costly parser;
- ``mixed``: DOCX, HTML, Markdown and text files, a "page" being 540 words.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import secrets
import signal
import tempfile
import time
from pathlib import Path

import psycopg
from openai import OpenAI

from configs import load_settings
from gateway.app import create_app
from gateway.keys import hash_key
from inference.embedders import build_embedder
from ingestion.db import migrate
from tests.support.documents import make_pdf
from tests.support.net import free_port
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


def _run_pipeline(client: OpenAI, files: list[tuple[str, bytes]], name: str) -> tuple[str, float]:
    store = client.vector_stores.create(name=name).id
    ids = [client.files.create(file=f, purpose="assistants").id for f in files]
    started = time.perf_counter()
    batch = client.vector_stores.file_batches.create(vector_store_id=store, file_ids=ids)
    while True:
        batch = client.vector_stores.file_batches.retrieve(batch.id, vector_store_id=store)
        if batch.status != "in_progress":
            break
        time.sleep(0.1)
    elapsed = time.perf_counter() - started
    if batch.file_counts.completed != len(files):
        raise RuntimeError(f"{name}: not every file completed: {batch.file_counts}")
    return store, elapsed


def _chunk_texts(database_url: str, store: str) -> list[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT content FROM chunks WHERE vector_store_id = %s ORDER BY file_id, chunk_index",
            (store,),
        ).fetchall()
    return [row[0] for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--corpus", nargs="+", default=["pdf", "mixed"], choices=["pdf", "mixed"])
    parser.add_argument("--threads", type=int, default=2, help="worker threads")
    args = parser.parse_args()
    os.environ.setdefault("DO_NOT_TRACK", "1")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        with (
            postgres_for_tests(os.environ.get("TEST_DATABASE_URL"), root / "pg") as postgres,
            redis_for_tests(os.environ.get("TEST_REDIS_URL"), root / "redis") as redis_service,
        ):
            database_url = postgres.create_database("ragway_bench")
            asyncio.run(migrate(database_url))
            env = {
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_service.url,
                "RAGWAY_REDIS__KEY_PREFIX": redis_service.key_prefix,
                "RAGWAY_WORKER__NAMESPACE": redis_service.namespace,
                "RAGWAY_DATA_DIR": str(root / "data"),
                "RAGWAY_WORKER__THREADS": str(args.threads),
                "RAGWAY_LOGGING__LEVEL": "WARNING",
                "RAGWAY_INGESTION__METRICS_PORT": str(free_port()),
                "RAGWAY_CONFIG": "",
            }
            settings = load_settings(config_files=[], env=env)
            key = _admin_key(database_url)
            app = create_app(settings, database_url=database_url, redis_url=redis_service.url)
            worker = start_process(["worker"], env)
            results: list[tuple[str, int, int, float]] = []
            try:
                with ServerThread(app) as server:
                    client = OpenAI(base_url=f"{server.base_url}/v1", api_key=key, timeout=600)
                    warm = [*_corpus("mixed", 1, seed=0), *_corpus("pdf", 1, seed=0)]
                    _run_pipeline(client, warm, "warm-up")  # model load and first parses
                    for kind in args.corpus:
                        files = _corpus(kind, args.pages, seed=1)
                        store, elapsed = _run_pipeline(client, files, f"bench-{kind}")
                        results.append((store, len(files), args.pages, elapsed))
            finally:
                worker.send_signal(signal.SIGTERM)
                worker.wait(timeout=60)
            embedder = build_embedder(settings.inference.embedder)
            embedder.embed(["warm up"] * 8)
            print(
                f"worker threads {args.threads}, "
                f"embed batch {settings.ingestion.embed_batch_size}, "
                f"chunks of {settings.ingestion.chunking.auto_max_chunk_size_tokens} tokens"
            )
            print(
                f"{'corpus':8} {'files':>5} {'pages':>5} {'chunks':>6} "
                f"{'pipeline/s':>10} {'embedder/s':>10} {'ratio':>6}"
            )
            for kind, (store, files_count, pages, elapsed) in zip(
                args.corpus, results, strict=True
            ):
                texts = _chunk_texts(database_url, store)
                batch = settings.ingestion.embed_batch_size
                started = time.perf_counter()
                for start in range(0, len(texts), batch):
                    embedder.embed(texts[start : start + batch])
                baseline = len(texts) / (time.perf_counter() - started)
                pipeline = len(texts) / elapsed
                print(
                    f"{kind:8} {files_count:5d} {pages:5d} {len(texts):6d} "
                    f"{pipeline:10.1f} {baseline:10.1f} {pipeline / baseline:6.1%}"
                )


if __name__ == "__main__":
    main()
