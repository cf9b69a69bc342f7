"""Re-ingesting through the official openai client and a real worker: a changed file (same
filename, new bytes) replaces the older version's chunks in one transaction; the same bytes
again are a duplicate that adds nothing."""

from __future__ import annotations

import threading
import time

import openai
import pytest
from openai import OpenAI
from openai.types.vector_stores import VectorStoreFile

from tests.gateway.collections.conftest import chunk_rows

OLD = "Version one: the ferry to Skye leaves at seven in the morning from Mallaig pier."
NEW = "Version two: the ferry to Skye leaves at nine in the morning from Mallaig pier."


def _ragway(record: VectorStoreFile) -> dict[str, object]:
    extra = record.model_extra
    assert extra is not None
    ragway: dict[str, object] = extra["ragway"]
    return ragway


def _upload(admin: OpenAI, store: str, name: str, text: str) -> VectorStoreFile:
    return admin.vector_stores.files.upload_and_poll(
        vector_store_id=store,
        file=(name, f"# Timetable\n\n{text}\n".encode()),
        poll_interval_ms=100,
    )


def test_a_changed_file_replaces_its_chunks_and_the_same_bytes_are_a_no_op(
    admin: OpenAI, database_url: str
) -> None:
    store = admin.vector_stores.create(name="shared-versions").id
    first = _upload(admin, store, "timetable.md", OLD)
    assert first.status == "completed"
    assert _ragway(first)["replaced_file_ids"] == []
    old_id = first.id

    seen: list[set[str]] = []
    done = threading.Event()
    searching = threading.Event()

    def search_meanwhile() -> None:
        while not done.is_set():
            page = admin.vector_stores.search(
                vector_store_id=store, query="ferry to Skye", max_num_results=10
            )
            seen.append({hit.file_id for hit in page.data})
            searching.set()

    searcher = threading.Thread(target=search_meanwhile)
    searcher.start()
    try:
        # The upload starts only once a search has answered, so the first answer is the old one.
        assert searching.wait(timeout=30)
        second = _upload(admin, store, "timetable.md", NEW)
        time.sleep(0.3)  # a few searches after the switch too
    finally:
        done.set()
        searcher.join(timeout=30)
    new_id = second.id
    assert second.status == "completed"
    assert second.last_error is None
    assert _ragway(second)["replaced_file_ids"] == [old_id]
    assert _ragway(second)["duplicate_of"] is None
    # Every search saw exactly one version: never both, never neither.
    assert seen[0] == {old_id}
    assert all(found in ({old_id}, {new_id}) for found in seen), seen
    assert seen[-1] == {new_id}

    assert {f for f, _ in chunk_rows(database_url, store)} == {new_id}
    listed = admin.vector_stores.files.list(vector_store_id=store)
    assert [f.id for f in listed.data] == [new_id]
    with pytest.raises(openai.NotFoundError):
        admin.vector_stores.files.retrieve(vector_store_id=store, file_id=old_id)
    assert admin.files.retrieve(old_id).id == old_id  # the file itself stays
    hits = admin.vector_stores.search(vector_store_id=store, query="ferry at nine").data
    assert "Version two" in hits[0].content[0].text

    # The same bytes again: completed as a duplicate, no chunks of its own, nothing replaced.
    rows = chunk_rows(database_url, store)
    again = _upload(admin, store, "timetable.md", NEW)
    assert again.status == "completed"
    assert again.last_error is None
    assert _ragway(again)["duplicate_of"] == new_id
    assert _ragway(again)["replaced_file_ids"] == []
    assert _ragway(again)["chunks_total"] == 0
    assert chunk_rows(database_url, store) == rows
    assert admin.vector_stores.files.retrieve(vector_store_id=store, file_id=new_id).status == (
        "completed"
    )


def test_a_replaced_original_hands_its_chunks_to_its_duplicate(
    admin: OpenAI, database_url: str
) -> None:
    store = admin.vector_stores.create(name="shared-versions-heir").id
    original = _upload(admin, store, "a.md", OLD)
    copy = _upload(admin, store, "copy-of-a.md", OLD)
    assert _ragway(copy)["duplicate_of"] == original.id
    before = len(chunk_rows(database_url, store))

    changed = _upload(admin, store, "a.md", NEW)
    assert _ragway(changed)["replaced_file_ids"] == [original.id]
    heir = admin.vector_stores.files.retrieve(vector_store_id=store, file_id=copy.id)
    assert heir.status == "completed"
    assert _ragway(heir)["duplicate_of"] is None
    assert _ragway(heir)["chunks_total"] == before
    assert len(chunk_rows(database_url, store, copy.id)) == before
    files = {f for f, _ in chunk_rows(database_url, store)}
    assert files == {copy.id, changed.id}
    hits = admin.vector_stores.search(vector_store_id=store, query="ferry at seven").data
    assert {hit.file_id for hit in hits} <= files
