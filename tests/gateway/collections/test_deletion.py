"""Deleting vector stores: chunks go at once; files in no other store go with their bytes
(unless configured as at OpenAI); a worker mid-file of a deleted store drops its work."""

from __future__ import annotations

import io
import random
import secrets
import time

import openai
import psycopg
import pytest
from openai import OpenAI

from configs import Settings
from tests.gateway.collections.conftest import (
    Keys,
    WorkerHandle,
    chunk_rows,
    client,
    stored_object,
    worker_counter,
)


def text_file(title: str, sentence: str) -> bytes:
    return f"{title}\n\n{sentence}\n".encode()


def test_deleting_a_store_deletes_its_files_in_no_other_store(
    admin: OpenAI, database_url: str, collections_settings: Settings
) -> None:
    token = secrets.token_hex(4)  # content of this test only: no other file shares its bytes
    doomed = admin.vector_stores.create(name="shared-doomed").id
    kept = admin.vector_stores.create(name="shared-kept").id
    only = text_file("ONLY", f"Basalt lighthouses guide ships past the {token} reef.")
    shared_sentence = f"Copper kettles whistle loudly in the {token} mountain hut."
    both = text_file("BOTH", shared_sentence)
    twin = text_file("TWIN", f"A second upload of these bytes keeps them alive, {token}.")
    exclusive = admin.vector_stores.files.upload_and_poll(
        vector_store_id=doomed, file=("only.txt", only), poll_interval_ms=200
    )
    shared = admin.vector_stores.files.upload_and_poll(
        vector_store_id=doomed, file=("both.txt", both), poll_interval_ms=200
    )
    twin_in_store = admin.vector_stores.files.upload_and_poll(
        vector_store_id=doomed, file=("twin.txt", twin), poll_interval_ms=200
    )
    twin_elsewhere = admin.files.create(file=("twin-copy.txt", twin), purpose="assistants")
    in_kept = admin.vector_stores.files.create_and_poll(
        vector_store_id=kept, file_id=shared.id, poll_interval_ms=200
    )
    assert [f.status for f in (exclusive, shared, twin_in_store, in_kept)] == ["completed"] * 4
    assert all(stored_object(collections_settings, c).is_file() for c in (only, both, twin))

    assert admin.vector_stores.delete(doomed).deleted

    assert chunk_rows(database_url, doomed) == []
    with pytest.raises(openai.NotFoundError):
        admin.vector_stores.retrieve(doomed)
    # In this store only: the file and its bytes are gone.
    with pytest.raises(openai.NotFoundError):
        admin.files.retrieve(exclusive.id)
    assert not stored_object(collections_settings, only).exists()
    # Also in another store: it stays, bytes and all, and is found there.
    assert admin.files.retrieve(shared.id).filename == "both.txt"
    assert admin.files.content(shared.id).read() == both
    hits = admin.vector_stores.search(vector_store_id=kept, query=shared_sentence).data
    assert hits
    assert hits[0].file_id == shared.id
    assert [f.id for f in admin.vector_stores.files.list(vector_store_id=kept).data] == [shared.id]
    # In this store only, but its bytes are another file's too: the row goes, the bytes stay.
    with pytest.raises(openai.NotFoundError):
        admin.files.retrieve(twin_in_store.id)
    assert admin.files.content(twin_elsewhere.id).read() == twin


def test_files_outlive_their_store_when_configured_as_openai(
    files_outlive_stores_url: str, keys: Keys, database_url: str, collections_settings: Settings
) -> None:
    openai_style = client(files_outlive_stores_url, keys.admin)
    store = openai_style.vector_stores.create(name="shared-openai-style").id
    content = text_file("KEPT", f"Files outlive their stores at OpenAI, {secrets.token_hex(4)}.")
    done = openai_style.vector_stores.files.upload_and_poll(
        vector_store_id=store, file=("kept.txt", content), poll_interval_ms=200
    )
    assert done.status == "completed"
    assert chunk_rows(database_url, store)

    assert openai_style.vector_stores.delete(store).deleted

    assert chunk_rows(database_url, store) == []
    with pytest.raises(openai.NotFoundError):
        openai_style.vector_stores.retrieve(store)
    assert openai_style.files.retrieve(done.id).filename == "kept.txt"
    assert openai_style.files.content(done.id).read() == content
    assert stored_object(collections_settings, content).is_file()


def busy_docx(paragraphs: int) -> bytes:
    """Hundreds of chunks (several embedding batches) that parse in about a second."""
    import docx

    rng = random.Random(5)
    words = ("storm", "harbour", "lantern", "copper", "meadow", "glacier", "violin", "orchard")
    document = docx.Document()
    for _ in range(paragraphs):
        document.add_paragraph(" ".join(rng.choice(words) for _ in range(60)).capitalize() + ".")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_a_store_deleted_mid_ingestion_gets_no_chunks_and_the_worker_goes_on(
    admin: OpenAI, worker: WorkerHandle, database_url: str, collections_settings: Settings
) -> None:
    stale_before = worker_counter(
        collections_settings, "ragway_ingestion_files_processed", 'outcome="stale"'
    )
    retries_before = worker_counter(collections_settings, "ragway_ingestion_retries")
    embedded_before = worker_counter(collections_settings, "ragway_ingestion_chunks_embedded")
    store = admin.vector_stores.create(name="shared-doomed-busy").id
    upload = admin.files.create(file=("busy.docx", busy_docx(600)), purpose="assistants")
    admin.vector_stores.files.create(vector_store_id=store, file_id=upload.id)
    deadline = time.monotonic() + 120
    while True:  # until the worker is embedding: some chunks done, more to go
        state = admin.vector_stores.files.retrieve(file_id=upload.id, vector_store_id=store)
        assert state.status == "in_progress", state
        progress = (state.model_extra or {})["ragway"]
        if progress["chunks_done"] > 0:
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert progress["chunks_done"] < progress["chunks_total"]

    assert admin.vector_stores.delete(store).deleted

    assert chunk_rows(database_url, store) == []
    with pytest.raises(openai.NotFoundError):
        admin.files.retrieve(upload.id)
    deadline = time.monotonic() + 120
    while (
        worker_counter(collections_settings, "ragway_ingestion_files_processed", 'outcome="stale"')
        == stale_before
    ):
        assert time.monotonic() < deadline, "the worker never dropped the deleted file's work"
        time.sleep(0.2)
    with psycopg.connect(database_url) as conn:
        left = conn.execute("SELECT count(*) FROM chunks WHERE file_id = %s", (upload.id,))
        assert left.fetchone() == (0,)
    assert worker.process.poll() is None
    assert worker_counter(collections_settings, "ragway_ingestion_retries") == retries_before
    # Dropped while embedding (at the next batch), not embedded to the end and then refused.
    assert (
        worker_counter(collections_settings, "ragway_ingestion_chunks_embedded") == embedded_before
    )
    after = admin.vector_stores.create(name="shared-after-deletion").id
    done = admin.vector_stores.files.upload_and_poll(
        vector_store_id=after,
        file=("after.txt", text_file("AFTER", "The worker carries on after a deletion.")),
        poll_interval_ms=200,
    )
    assert done.status == "completed"
