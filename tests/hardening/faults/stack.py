"""Pieces the fault tests assemble: a config file, steady chat traffic, ingestion checks."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from openai import OpenAI

from tests.hardening.faults.conftest import UPSTREAM_KEY_ENV
from tests.support.fake_openai import FakeOpenAI

__all__ = ["ChatLoad", "Reply", "chunks_of", "upload_texts", "write_config"]


def write_config(path: Path, *, embedder: FakeOpenAI, **sections: dict[str, Any]) -> Path:
    """A config file (JSON is YAML) with a remote embedder on ``embedder`` (8 dimensions,
    every call ``embedder.slow_s`` long): no model to load, and ingestion takes a while."""
    config: dict[str, Any] = {
        "inference": {
            "embedder": {
                "kind": "remote",
                "base_url": embedder.base_url,
                "model": "fault-slow",
                "api_key_env": UPSTREAM_KEY_ENV,
                "dimension": 8,
                "max_retries": 0,
            }
        },
        "worker": {"threads": 1, "heartbeat_timeout_s": 5, "shutdown_timeout_s": 5},
        "ingestion": {"min_backoff_s": 0.2, "max_backoff_s": 1, "max_retries": 20},
    }
    for name, values in sections.items():
        config[name] = {**config.get(name, {}), **values}
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Reply:
    sent: float  # monotonic time the request was sent
    at: float  # monotonic time the answer arrived
    status: int  # 0: no HTTP answer at all
    limit: str | None  # x-ratelimit-limit-requests
    code: str | None  # the OpenAI error code, if any


@dataclass
class ChatLoad:
    """``clients`` threads, each sending a small chat completion every ``pause_s`` or so."""

    url: str
    key: str
    clients: int = 2
    pause_s: float = 0.03
    replies: list[Reply] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, daemon=True) for _ in range(self.clients)
        ]

    def __enter__(self) -> ChatLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def between(self, start: float, end: float) -> list[Reply]:
        """Replies that arrived between ``start`` and ``end``."""
        return [r for r in list(self.replies) if start <= r.at <= end]

    def sent_after(self, start: float) -> list[Reply]:
        return [r for r in list(self.replies) if r.sent >= start]

    def _run(self) -> None:
        body = {"model": "chat", "messages": [{"role": "user", "content": "ping"}]}
        headers = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(timeout=15) as http:
            while not self._stop.is_set():
                sent = time.monotonic()
                try:
                    response = http.post(
                        f"{self.url}/v1/chat/completions", json=body, headers=headers
                    )
                except httpx.TransportError:
                    self.replies.append(Reply(sent, time.monotonic(), 0, None, None))
                    continue
                code = None
                if response.status_code != 200:
                    code = (response.json().get("error") or {}).get("code")
                limit = response.headers.get("x-ratelimit-limit-requests")
                self.replies.append(
                    Reply(sent, time.monotonic(), response.status_code, limit, code)
                )
                time.sleep(self.pause_s)


def upload_texts(admin: OpenAI, store_id: str, texts: list[str]) -> list[str]:
    """Upload each text as a file and add them all to the store in one batch."""
    file_ids = [
        admin.files.create(file=(f"fault-{n}.txt", text.encode()), purpose="assistants").id
        for n, text in enumerate(texts)
    ]
    admin.vector_stores.file_batches.create(vector_store_id=store_id, file_ids=file_ids)
    return file_ids


def chunks_of(database_url: str, store_id: str) -> dict[str, tuple[str, int, list[int]]]:
    """Per file of the store: (status, chunks_total, the chunk indexes stored)."""
    with psycopg.connect(database_url) as conn:
        files = conn.execute(
            "SELECT file_id, status, chunks_total FROM vector_store_files "
            "WHERE vector_store_id = %s",
            (store_id,),
        ).fetchall()
        chunks = conn.execute(
            "SELECT file_id, chunk_index FROM chunks WHERE vector_store_id = %s "
            "ORDER BY file_id, chunk_index",
            (store_id,),
        ).fetchall()
    indexes: dict[str, list[int]] = {file_id: [] for file_id, _, _ in files}
    for file_id, index in chunks:
        indexes.setdefault(file_id, []).append(index)
    return {file_id: (status, total, indexes[file_id]) for file_id, status, total in files}
