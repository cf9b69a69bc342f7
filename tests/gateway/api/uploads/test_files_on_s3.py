"""Files on S3 end to end: a gateway and a worker on moto's S3 server, driven with the
official ``openai`` SDK. Uploads land in the bucket under their sha256, the worker reads
them from there into a vector store that search finds, content comes back streamed or as a
presigned redirect, a batch writes its output and error files there, and deleting a file
removes its object."""

from __future__ import annotations

import hashlib
import time

import httpx
import psycopg
import pytest
from openai import OpenAI

from tests.gateway.api.uploads.conftest import PREFIX, Stack
from tests.gateway.batches.conftest import chat_line, jsonl, read_jsonl
from tests.support.documents import make_document
from tests.support.s3 import MotoS3

pytestmark = pytest.mark.usefixtures("s3_worker")  # ingests and runs batches from S3

MARKER = "The lighthouse keeper logged forty-two foghorn blasts on the stormy night."


def object_key(data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    return f"{PREFIX}objects/{sha[:2]}/{sha[2:4]}/{sha}"


def in_bucket(moto: MotoS3, bucket: str, key: str) -> bool:
    listed = moto.client().list_objects_v2(Bucket=bucket, Prefix=key)
    return any(item["Key"] == key for item in listed.get("Contents", []))


def test_a_document_on_s3_is_ingested_searched_and_downloaded(
    s3_stack: Stack, presigned_url: str, moto: MotoS3, s3_bucket: str
) -> None:
    stack = s3_stack
    admin = stack.client()
    document = make_document("md", MARKER)
    upload = admin.files.create(file=("lighthouse.md", document), purpose="assistants")
    assert in_bucket(moto, s3_bucket, object_key(document))
    store = admin.vector_stores.create(name=f"s3-docs-{upload.id[-6:]}")
    done = admin.vector_stores.files.create_and_poll(
        vector_store_id=store.id, file_id=upload.id, poll_interval_ms=200
    )
    assert done.status == "completed", done.last_error
    found = admin.vector_stores.search(vector_store_id=store.id, query="foghorn blasts")
    assert found.data[0].filename == "lighthouse.md"
    assert "foghorn" in found.data[0].content[0].text

    # streamed through the gateway
    assert admin.files.content(upload.id).read() == document
    # or a 307 to a presigned URL of the bucket, which needs no API key
    headers = {"authorization": f"Bearer {stack.admin_key}"}
    answer = httpx.get(f"{presigned_url}/v1/files/{upload.id}/content", headers=headers)
    assert answer.status_code == 307
    location = answer.headers["location"]
    assert location.startswith(f"{moto.url}/{s3_bucket}/{object_key(document)}?")
    assert "X-Amz-Signature=" in location
    assert httpx.get(location).content == document
    followed = OpenAI(base_url=f"{presigned_url}/v1", api_key=stack.admin_key, max_retries=0)
    assert followed.files.content(upload.id).read() == document  # the SDK follows it
    other = httpx.get(f"{presigned_url}/v1/files/file-nope/content", headers=headers)
    assert other.status_code == 404  # no file: no URL

    admin.files.delete(upload.id)
    assert not in_bucket(moto, s3_bucket, object_key(document))


def test_a_document_sent_in_parts_on_s3_is_ingested(
    s3_stack: Stack, moto: MotoS3, s3_bucket: str
) -> None:
    stack = s3_stack
    admin = stack.client()
    document = make_document("txt", MARKER.replace("forty-two", "ninety-nine"))
    done = admin.uploads.upload_file_chunked(
        file=document,
        filename="keeper-log.txt",
        bytes=len(document),
        mime_type="text/plain",
        purpose="assistants",
        part_size=len(document) // 3 + 1,
    )
    assert done.file is not None
    assert in_bucket(moto, s3_bucket, object_key(document))
    store = admin.vector_stores.create(name=f"s3-parts-{done.id[-6:]}")
    added = admin.vector_stores.files.create_and_poll(
        vector_store_id=store.id, file_id=done.file.id, poll_interval_ms=200
    )
    assert added.status == "completed", added.last_error
    found = admin.vector_stores.search(vector_store_id=store.id, query="ninety-nine foghorn")
    assert found.data[0].filename == "keeper-log.txt"


def test_a_batch_writes_its_output_and_errors_to_s3(
    s3_stack: Stack, moto: MotoS3, s3_bucket: str
) -> None:
    stack = s3_stack
    member = stack.client(stack.member_key)
    lines = [chat_line(f"req-{n}", f"question {n}") for n in range(5)]
    lines.append(chat_line("bad-0", "nobody answers", model="no-such-model"))
    batch_input = member.files.create(file=("in.jsonl", jsonl(lines)), purpose="batch")
    batch = member.batches.create(
        input_file_id=batch_input.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    deadline = time.monotonic() + 120
    while batch.status not in ("completed", "failed", "expired", "cancelled"):
        assert time.monotonic() < deadline, batch
        time.sleep(0.3)
        batch = member.batches.retrieve(batch.id)
    assert batch.status == "completed", batch
    output = read_jsonl(member, batch.output_file_id)
    assert [line["custom_id"] for line in output] == [f"req-{n}" for n in range(5)]
    errors = read_jsonl(member, batch.error_file_id)
    assert [line["custom_id"] for line in errors] == ["bad-0"]
    with psycopg.connect(stack.database_url) as conn:
        rows = conn.execute(
            "SELECT sha256 FROM files WHERE id = ANY(%s)",
            ([batch.output_file_id, batch.error_file_id],),
        ).fetchall()
    assert len(rows) == 2
    for (sha,) in rows:
        key = f"{PREFIX}objects/{sha[:2]}/{sha[2:4]}/{sha}"
        assert in_bucket(moto, s3_bucket, key)
