"""``S3Storage`` against moto's S3 server: streamed writes (one PUT, or a multipart upload),
commits that are atomic and idempotent, the server's SHA-256 check, reads, deletion,
presigned URLs, and the errors of an unreachable or refusing server."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import httpx
import pytest

from ingestion.errors import StorageError, StorageUnavailableError
from ingestion.storage import StagedObject
from ingestion.storage._s3 import S3Storage
from tests.ingestion.storage.conftest import PART, s3_storage
from tests.support.net import free_port
from tests.support.s3 import MotoS3


def write(storage: S3Storage, data: bytes, piece: int = 64 * 1024) -> StagedObject:
    writer = storage.writer()
    for start in range(0, len(data), piece):
        writer.write(data[start : start + piece])
    assert writer.size == len(data)
    return writer.finish()


def keys(moto: MotoS3, bucket: str) -> list[str]:
    listed = moto.client().list_objects_v2(Bucket=bucket).get("Contents", [])
    return sorted(item["Key"] for item in listed)


def open_multipart_uploads(moto: MotoS3, bucket: str) -> list[str]:
    return [
        u["Key"] for u in moto.client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    ]


def test_a_small_object_is_one_put_staged_then_committed_under_its_sha256(
    storage: S3Storage, moto: MotoS3, bucket: str
) -> None:
    data = b"the quick brown fox\n" * 100
    sha = hashlib.sha256(data).hexdigest()
    staged = write(storage, data, piece=7)
    assert staged.key == sha
    assert staged.size == len(data)
    assert staged.token.startswith("tests/staging/")
    assert not storage.exists(sha)  # staged bytes are not readable under their key
    storage.commit(staged)
    assert storage.exists(sha)
    assert keys(moto, bucket) == [f"tests/objects/{sha[:2]}/{sha[2:4]}/{sha}"]  # staging gone
    with storage.read(sha) as handle:
        assert handle.read(5) == b"the q"
        assert handle.read() == data[5:]
    with storage.local_path(sha) as path:
        assert path.read_bytes() == data
        assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    assert not path.exists()  # the temporary copy goes with the context


def test_a_large_object_streams_as_a_multipart_upload_with_checked_parts(
    storage: S3Storage, moto: MotoS3, bucket: str
) -> None:
    data = os.urandom(2 * PART + 12345)
    staged = write(storage, data)
    head = moto.client().head_object(Bucket=bucket, Key=staged.token)
    assert head["ETag"].strip('"').endswith("-3")  # three parts: 5 MiB, 5 MiB, the rest
    storage.commit(staged)
    sha = hashlib.sha256(data).hexdigest()
    with storage.read(sha) as handle:
        assert handle.read() == data
    assert open_multipart_uploads(moto, bucket) == []


def test_commit_and_delete_are_idempotent(storage: S3Storage, moto: MotoS3, bucket: str) -> None:
    data = b"same bytes, uploaded twice"
    sha = hashlib.sha256(data).hexdigest()
    first, second = write(storage, data), write(storage, data)
    storage.commit(first)
    storage.commit(first)  # again: already there, nothing to do
    storage.commit(second)  # equal bytes: its staging just goes
    assert keys(moto, bucket) == [storage.object_key(sha)]
    storage.delete(sha)
    storage.delete(sha)  # missing: not an error
    assert not storage.exists(sha)
    assert keys(moto, bucket) == []
    with pytest.raises(StorageError, match="missing"):
        storage.read(sha).__enter__()
    with pytest.raises(StorageError, match="missing"), storage.local_path(sha):
        pass


def test_discard_and_abort_leave_nothing(storage: S3Storage, moto: MotoS3, bucket: str) -> None:
    storage.discard(write(storage, b"not wanted"))
    writer = storage.writer()
    writer.write(os.urandom(PART + 1))  # one part sent: a multipart upload is open
    assert open_multipart_uploads(moto, bucket) == [writer.key]
    writer.abort()
    assert open_multipart_uploads(moto, bucket) == []
    assert keys(moto, bucket) == []


def test_a_staged_object_changed_before_its_commit_fails_the_servers_sha256_check(
    storage: S3Storage, moto: MotoS3, bucket: str
) -> None:
    data = b"what the client sent"
    staged = write(storage, data)
    moto.client().put_object(Bucket=bucket, Key=staged.token, Body=b"what the disk holds")
    with pytest.raises(StorageError, match="integrity check failed"):
        storage.commit(staged)
    assert not storage.exists(hashlib.sha256(data).hexdigest())  # the bad copy is removed


def test_a_corrupt_object_is_refused_when_read_for_parsing(
    storage: S3Storage, moto: MotoS3, bucket: str
) -> None:
    data = b"a document"
    sha = hashlib.sha256(data).hexdigest()
    storage.commit(write(storage, data))
    moto.client().put_object(Bucket=bucket, Key=storage.object_key(sha), Body=b"bit rot")
    with pytest.raises(StorageError, match="corrupt"), storage.local_path(sha):
        pass


def test_objects_over_the_copy_limit_are_committed_in_ranges(moto: MotoS3, bucket: str) -> None:
    storage = s3_storage(moto, bucket)
    ranged = S3Storage(
        storage._client,
        bucket=bucket,
        prefix="tests/",
        part_size=PART,
        copy_limit=PART + 1,
        copy_range=PART,
    )
    data = os.urandom(2 * PART + 7)
    staged = write(ranged, data)
    ranged.commit(staged)
    sha = hashlib.sha256(data).hexdigest()
    head = moto.client().head_object(Bucket=bucket, Key=ranged.object_key(sha))
    assert head["ETag"].strip('"').endswith("-3")  # copied as three ranges
    with ranged.read(sha) as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == sha
    assert keys(moto, bucket) == [ranged.object_key(sha)]


def test_presigned_downloads_serve_the_bytes(moto: MotoS3, bucket: str) -> None:
    plain = s3_storage(moto, bucket)
    data = b"bytes for a presigned URL"
    sha = hashlib.sha256(data).hexdigest()
    plain.commit(write(plain, data))
    assert plain.download_url(sha) is None  # presign_downloads is off by default
    signed = s3_storage(moto, bucket, presign_downloads=True, presign_ttl_s=2)
    url = signed.download_url(sha)
    assert url is not None
    assert "X-Amz-Signature=" in url  # SigV4
    assert "X-Amz-Expires=2&" in url  # S3 refuses it after that (moto does not check)
    answer = httpx.get(url)
    assert answer.status_code == 200
    assert answer.content == data
    assert answer.headers["content-type"] == "application/octet-stream"


def test_an_unreachable_server_is_storage_unavailable(moto: MotoS3) -> None:
    storage = s3_storage(
        moto,
        "no-server",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        max_attempts=2,
        connect_timeout_s=0.5,
    )
    started = time.monotonic()
    with pytest.raises(StorageUnavailableError, match="could not be reached"):
        storage.exists("0" * 64)
    assert time.monotonic() - started < 10  # bounded: two attempts, short timeouts


def test_a_missing_bucket_is_a_refusal_not_an_outage(moto: MotoS3) -> None:
    storage = s3_storage(moto, "never-created-bucket")
    with pytest.raises(StorageError, match="refused") as caught:
        write(storage, b"nowhere to go")
    assert not isinstance(caught.value, StorageUnavailableError)


def test_keys_and_ids_are_checked_before_any_request(storage: S3Storage) -> None:
    for bad in ("../etc", "A" * 64, ""):
        with pytest.raises(StorageError, match="not a sha256"):
            storage.exists(bad)
    with pytest.raises(StorageError, match="not an upload"):
        storage.part_writer("../x", "part_1")
    with pytest.raises(StorageError, match="not a part"):
        storage.assemble(["tests/objects/aa/bb/cc"])


def test_parts_in_any_order_and_size_assemble_into_one_hashed_object(
    storage: S3Storage, moto: MotoS3, bucket: str
) -> None:
    pieces = {
        "part_a": os.urandom(PART + 100),  # big enough to be copied by the server
        "part_b": b"a small part in the middle",
        "part_c": os.urandom(PART),
        "part_d": b"tail",
    }
    tokens = {}
    for name, data in pieces.items():
        writer = storage.part_writer("upload_1", name)
        writer.write(data)
        staged = writer.finish()
        assert staged.key == hashlib.sha256(data).hexdigest()
        assert staged.token.startswith(storage.part_token_prefix)
        tokens[name] = staged.token
    order = ["part_c", "part_a", "part_b", "part_d"]  # not the order they were sent in
    whole = b"".join(pieces[name] for name in order)
    assembled = storage.assemble([tokens[name] for name in order])
    assert assembled.staged.key == hashlib.sha256(whole).hexdigest()
    assert assembled.staged.size == len(whole)
    assert assembled.md5 == hashlib.md5(whole, usedforsecurity=False).hexdigest()
    # c and a copied by the server as parts 1 and 2; b and d sent through as part 3
    head = moto.client().head_object(Bucket=bucket, Key=assembled.staged.token)
    assert head["ETag"].strip('"').endswith("-3")
    storage.commit(assembled.staged)
    with storage.read(assembled.staged.key) as handle:
        assert handle.read() == whole
    assert open_multipart_uploads(moto, bucket) == []
    storage.discard_parts("upload_1")
    storage.discard_parts("upload_1")  # again: nothing left, no error
    assert keys(moto, bucket) == [storage.object_key(assembled.staged.key)]


def test_a_missing_part_fails_the_assembly_and_leaves_no_upload_open(
    storage: S3Storage, moto: MotoS3, bucket: str, tmp_path: Path
) -> None:
    writer = storage.part_writer("upload_2", "part_a")
    writer.write(os.urandom(PART))
    first = writer.finish()
    with pytest.raises(StorageError, match="missing"):
        storage.assemble([first.token, "tests/uploads/upload_2/part_gone"])
    assert open_multipart_uploads(moto, bucket) == []
    assert keys(moto, bucket) == [first.token]  # no staged leftover
