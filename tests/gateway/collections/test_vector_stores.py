"""The Files and Vector Stores API end to end: the official ``openai`` client, the gateway,
Redis and a real ``ragway worker`` process turning real documents into searchable chunks."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import psycopg
import pytest
from openai import OpenAI

from configs import Settings
from tests.gateway.collections.conftest import (
    MAX_FILE_BYTES,
    Keys,
    WorkerHandle,
    chunk_rows,
    client,
    storage_root,
)
from tests.support.documents import SAMPLE_KINDS, make_document, make_pdf

MARKERS = {
    "pdf": "The zirconium reactor ran at 451 kelvin during the spring trial.",
    "docx": "Penguins in the Antarctic colony huddle together to survive blizzards.",
    "pptx": "Quarterly revenue from the lighthouse business grew by twelve percent.",
    "html": "The violin workshop restores eighteenth century instruments by hand.",
    "md": "Sourdough bread needs a mature starter and a long cold fermentation.",
    "txt": "Volcanic basalt columns form when thick lava flows cool slowly.",
    "csv": "Saffron harvested in October sells for more than gold by weight.",
    "eml": "The board approved the new submarine cable between Lisbon and Dakar.",
}


def named(kind: str, marker: str) -> tuple[str, bytes]:
    return (f"sample-{kind}.{kind}", make_document(kind, marker))


@pytest.fixture(scope="module")
def store(admin: OpenAI) -> str:
    created = admin.vector_stores.create(name="shared-docs", metadata={"team": "qa"})
    assert created.id.startswith("vs_")
    assert created.status == "completed"
    return created.id


def test_every_type_is_ingested_and_found_by_search(admin: OpenAI, store: str) -> None:
    files = [named(kind, MARKERS[kind]) for kind in SAMPLE_KINDS]
    batch = admin.vector_stores.file_batches.upload_and_poll(
        vector_store_id=store, files=files, poll_interval_ms=200
    )
    assert batch.status == "completed"
    assert batch.file_counts.completed == len(SAMPLE_KINDS), batch.file_counts
    listed = admin.vector_stores.files.list(vector_store_id=store, limit=100)
    assert {f.status for f in listed.data} == {"completed"}
    names = {f.id: admin.files.retrieve(f.id).filename for f in listed.data}
    for kind, marker in MARKERS.items():
        results = admin.vector_stores.search(vector_store_id=store, query=marker, max_num_results=3)
        top = results.data[0]
        assert top.filename == f"sample-{kind}.{kind}", (kind, [r.filename for r in results.data])
        assert names[top.file_id] == top.filename
        assert marker.split()[1] in top.content[0].text
    assert admin.vector_stores.files.list(vector_store_id=store, filter="failed").data == []
    first = admin.vector_stores.files.list(vector_store_id=store, limit=3, order="asc")
    second = admin.vector_stores.files.list(
        vector_store_id=store, limit=3, order="asc", after=first.data[-1].id
    )
    back = admin.vector_stores.files.list(
        vector_store_id=store, limit=3, order="asc", before=second.data[0].id
    )
    assert first.has_more
    assert [f.id for f in back.data] == [f.id for f in first.data]
    assert not {f.id for f in first.data} & {f.id for f in second.data}
    retrieved = admin.vector_stores.retrieve(store)
    assert retrieved.file_counts.completed == len(SAMPLE_KINDS)
    assert retrieved.usage_bytes > 0


def test_attribute_filters_narrow_the_search(admin: OpenAI, store: str) -> None:
    for year, text in (
        (2023, "Glacier retreat measured at the northern station."),
        (2024, "Glacier retreat measured at the southern station."),
    ):
        upload = admin.files.create(
            file=(f"glacier-{year}.md", f"# Glaciers\n\n{text}\n".encode()), purpose="assistants"
        )
        done = admin.vector_stores.files.create_and_poll(
            vector_store_id=store,
            file_id=upload.id,
            attributes={"year": year, "topic": "ice"},
            poll_interval_ms=200,
        )
        assert done.status == "completed"
    query = "glacier retreat station"
    only_2024 = admin.vector_stores.search(
        vector_store_id=store, query=query, filters={"type": "gte", "key": "year", "value": 2024}
    )
    assert [r.filename for r in only_2024.data] == ["glacier-2024.md"]
    both = admin.vector_stores.search(
        vector_store_id=store,
        query=query,
        filters={
            "type": "and",
            "filters": [
                {"type": "eq", "key": "topic", "value": "ice"},
                {"type": "in", "key": "year", "value": [2023, 2024]},
            ],
        },
    )
    assert sorted(r.filename for r in both.data) == ["glacier-2023.md", "glacier-2024.md"]
    assert (both.data[0].attributes or {})["topic"] == "ice"
    with pytest.raises(openai.BadRequestError) as caught:
        admin.vector_stores.search(
            vector_store_id=store,
            query=query,
            filters={"type": "like", "key": "year", "value": 1},  # type: ignore[arg-type]
        )
    assert caught.value.code == "invalid_filter"


@pytest.mark.parametrize(
    ("name", "content", "code", "words"),
    [
        ("broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog", "invalid_file", "corrupt PDF"),
        (
            "huge.txt",
            b"lorem ipsum dolor\n" * (MAX_FILE_BYTES // 10),
            "invalid_file",
            "the limit is",
        ),
        ("tool.exe", b"MZ\x90\x00binary", "unsupported_file", "unsupported file type"),
    ],
)
def test_bad_files_fail_with_the_reason(
    admin: OpenAI, store: str, name: str, content: bytes, code: str, words: str
) -> None:
    result = admin.vector_stores.files.upload_and_poll(
        vector_store_id=store, file=(name, content), poll_interval_ms=200
    )
    assert result.status == "failed"
    assert result.last_error is not None
    assert result.last_error.code == code
    assert words in result.last_error.message


def test_a_pdf_of_one_short_line_is_ingested(admin: OpenAI, store: str) -> None:
    # Its only line sits near the top of the page, where unstructured calls text a Header.
    content = make_pdf([["Invoice 4711 from the Narwhal Cooperative"]])
    done = admin.vector_stores.files.upload_and_poll(
        vector_store_id=store, file=("one-line.pdf", content), poll_interval_ms=200
    )
    assert done.status == "completed", done.last_error
    hits = admin.vector_stores.search(
        vector_store_id=store, query="Narwhal Cooperative invoice", max_num_results=1
    ).data
    assert hits[0].file_id == done.id
    assert hits[0].content[0].text == "Invoice 4711 from the Narwhal Cooperative"


def test_the_same_bytes_twice_make_one_set_of_chunks(admin: OpenAI, database_url: str) -> None:
    store = admin.vector_stores.create(name="shared-dedupe").id
    content = make_document("md", "Honeybees communicate the direction of flowers by dancing.")
    first = admin.vector_stores.files.upload_and_poll(vector_store_id=store, file=("a.md", content))
    second = admin.vector_stores.files.upload_and_poll(
        vector_store_id=store, file=("b.md", content)
    )
    assert (first.status, second.status) == ("completed", "completed")
    rows = chunk_rows(database_url, store)
    assert rows
    assert {f for f, _ in rows} == {first.id}
    assert second.model_extra is not None
    assert second.model_extra["ragway"]["duplicate_of"] == first.id
    # Deleting the original hands its place to the duplicate, which is then ingested itself.
    admin.files.delete(first.id)
    deadline = time.monotonic() + 60
    while admin.vector_stores.files.retrieve(
        file_id=second.id, vector_store_id=store
    ).status != "completed" or not chunk_rows(database_url, store):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert {f for f, _ in chunk_rows(database_url, store)} == {second.id}
    assert len(chunk_rows(database_url, store)) == len(rows)


def test_deleting_removes_chunks_and_bytes(
    admin: OpenAI, database_url: str, collections_settings: Settings
) -> None:
    store = admin.vector_stores.create(name="shared-delete").id
    marker = "Tidal turbines off the Orkney coast produce steady power."
    done = admin.vector_stores.files.upload_and_poll(
        vector_store_id=store, file=("tides.txt", f"TIDES\n\n{marker}\n".encode())
    )
    assert done.status == "completed"
    assert admin.files.content(done.id).read().decode().strip().endswith(marker)
    assert admin.vector_stores.search(vector_store_id=store, query=marker).data
    objects = [
        p
        for p in storage_root(collections_settings).rglob("*")
        if p.is_file() and ".staging" not in p.parts
    ]
    admin.files.delete(done.id)
    assert admin.vector_stores.search(vector_store_id=store, query=marker).data == []
    assert chunk_rows(database_url, store) == []
    remaining = [
        p
        for p in storage_root(collections_settings).rglob("*")
        if p.is_file() and ".staging" not in p.parts
    ]
    assert len(remaining) == len(objects) - 1
    with pytest.raises(openai.NotFoundError):
        admin.files.retrieve(done.id)
    # Deleting a store takes its chunks with it, and its files in no other store (by
    # default; test_deletion.py covers shared files and the OpenAI-style setting).
    again = admin.vector_stores.files.upload_and_poll(
        vector_store_id=store, file=("tides2.txt", f"TIDES\n\n{marker} Again.\n".encode())
    )
    assert chunk_rows(database_url, store)
    assert admin.vector_stores.delete(store).deleted
    assert chunk_rows(database_url, store) == []
    with pytest.raises(openai.NotFoundError):
        admin.vector_stores.retrieve(store)
    with pytest.raises(openai.NotFoundError):
        admin.files.retrieve(again.id)


def test_a_store_of_another_embedding_model_is_a_clear_error(
    admin: OpenAI, database_url: str
) -> None:
    store = admin.vector_stores.create(name="shared-other-model").id
    # As if the store had been created while another embedder was configured.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE vector_stores SET embedding_model = 'bge-base-en', embedding_dimension = 768 "
            "WHERE id = %s",
            (store,),
        )
    result = admin.vector_stores.files.upload_and_poll(
        vector_store_id=store,
        file=("moon.txt", b"MOON\n\nThe moon drifts four centimetres further away each year.\n"),
        poll_interval_ms=200,
    )
    assert result.status == "failed"
    assert result.last_error is not None
    assert str(result.last_error.code) == "embedding_model_mismatch"  # not in the SDK's Literal
    assert "bge-base-en" in result.last_error.message
    assert "all-MiniLM-L6-v2" in result.last_error.message
    assert chunk_rows(database_url, store) == []
    with pytest.raises(openai.ConflictError) as caught:
        admin.vector_stores.search(vector_store_id=store, query="moon distance")
    assert caught.value.code == "embedding_model_mismatch"


def test_members_read_only_the_stores_granted_to_them(
    admin: OpenAI, store: str, collections_url: str, keys: Keys
) -> None:
    private = admin.vector_stores.create(name="private-notes").id
    reader = client(collections_url, keys.reader)
    outsider = client(collections_url, keys.outsider)
    visible = {s.id for s in reader.vector_stores.list(limit=100).data}
    assert store in visible
    assert private not in visible
    assert reader.vector_stores.retrieve(store).id == store
    assert reader.vector_stores.search(vector_store_id=store, query=MARKERS["md"]).data
    assert reader.vector_stores.files.list(vector_store_id=store).data
    with pytest.raises(openai.NotFoundError):
        reader.vector_stores.retrieve(private)
    with pytest.raises(openai.NotFoundError):
        outsider.vector_stores.search(vector_store_id=store, query="anything")
    assert outsider.vector_stores.list().data == []
    with pytest.raises(openai.PermissionDeniedError):
        reader.vector_stores.create(name="shared-mine")
    with pytest.raises(openai.PermissionDeniedError):
        reader.vector_stores.update(store, name="shared-renamed")
    with pytest.raises(openai.PermissionDeniedError):
        reader.files.create(file=("x.txt", b"hello"), purpose="assistants")
    with pytest.raises(openai.NotFoundError):
        admin.vector_stores.retrieve("vs_" + "0" * 24)
    anonymous = httpx.get(f"{collections_url}/v1/vector_stores")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "invalid_api_key"


def test_a_worker_killed_mid_file_leaves_exactly_one_copy(
    admin: OpenAI, worker: WorkerHandle, database_url: str
) -> None:
    store = admin.vector_stores.create(name="shared-kill").id
    pages = [
        [
            f"Page {p} line {n} describes the migration of arctic terns and whales."
            for n in range(40)
        ]
        for p in range(30)
    ]
    upload = admin.files.create(
        file=("terns.pdf", io.BytesIO(make_pdf(pages))), purpose="assistants"
    )
    admin.vector_stores.files.create(vector_store_id=store, file_id=upload.id)
    deadline = time.monotonic() + 120
    while True:
        state = admin.vector_stores.files.retrieve(file_id=upload.id, vector_store_id=store)
        assert state.status == "in_progress", state
        if (state.model_extra or {})["ragway"]["chunks_done"] > 0:
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    worker.kill()
    worker.restart()
    done = admin.vector_stores.files.poll(upload.id, vector_store_id=store, poll_interval_ms=250)
    assert done.status == "completed"
    rows = chunk_rows(database_url, store, upload.id)
    total = (done.model_extra or {})["ragway"]["chunks_total"]
    assert len(rows) == total > 0
    assert sorted(i for _, i in rows) == list(range(total))


def test_worker_metrics_are_exposed(collections_settings: Settings, admin: OpenAI) -> None:
    port = collections_settings.ingestion.metrics_port
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert 'ragway_ingestion_files{status="completed"}' in text
    assert "ragway_ingestion_stage_seconds_bucket" in text
    assert "ragway_ingestion_queue_depth" in text


def test_ingest_command_uploads_a_folder_and_reports(
    admin: OpenAI, collections_url: str, keys: Keys, tmp_path: Path, collections_env: dict[str, str]
) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "owls.md").write_bytes(
        make_document("md", "Barn owls hunt by sound alone.")
    )
    (tmp_path / "docs" / "moths.txt").write_text("MOTHS\n\nMoths navigate by the moon.\n")
    (tmp_path / "docs" / "broken.pdf").write_bytes(b"%PDF-1.4 truncated")
    (tmp_path / "docs" / "notes.xyz").write_text("not a document")
    command = [
        sys.executable,
        "-m",
        "gateway",
        "ingest",
        str(tmp_path / "docs"),
        "--store",
        "shared-cli",
        "--url",
        f"{collections_url}/v1",
        "--api-key",
        keys.admin,
        "--timeout",
        "120",
    ]
    first = subprocess.run(
        command, capture_output=True, text=True, timeout=180, env={**os.environ, **collections_env}
    )
    assert first.returncode == 1, first.stderr
    assert "2 completed, 1 failed, 0 already present, 1 unsupported" in first.stdout
    assert "broken.pdf" in first.stderr
    assert "corrupt PDF" in first.stderr
    store = next(s for s in admin.vector_stores.list(limit=100).data if s.name == "shared-cli")
    assert (
        admin.vector_stores.search(vector_store_id=store.id, query="owls hunting by sound")
        .data[0]
        .filename
        == "owls.md"
    )
    (tmp_path / "docs" / "broken.pdf").unlink()
    second = subprocess.run(
        command, capture_output=True, text=True, timeout=180, env={**os.environ, **collections_env}
    )
    assert second.returncode == 0, second.stderr
    assert "0 completed, 0 failed, 2 already present, 1 unsupported" in second.stdout
