"""OpenAI's Uploads API with the official ``openai`` SDK, on local storage and on S3.

Parts sent in any order and size complete into a File whose bytes are the parts in the
order given; ``upload_file_chunked`` works as against OpenAI; cancel and expiry remove the
parts; every bad input is an OpenAI-shaped 4xx, and a refused completion leaves the upload
pending.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import openai
import psycopg
import pytest

from tests.gateway.api.uploads.conftest import MEMBER_CAP, Stack
from tests.support.net import wait_until
from tests.support.processes import insert_key

MiB = 1024 * 1024
UPLOAD_KEYS = {
    "id",
    "object",
    "bytes",
    "created_at",
    "expires_at",
    "filename",
    "purpose",
    "status",
    "file",
}


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def error_of(caught: pytest.ExceptionInfo[openai.APIStatusError]) -> dict[str, Any]:
    """The ``error`` object of an answer (the SDK keeps what is inside it)."""
    body = caught.value.body
    assert isinstance(body, dict), body
    return body


def test_parts_in_any_order_complete_into_a_file(stack: Stack) -> None:
    client = stack.client()
    big, middle, tail = os.urandom(6 * MiB), b"a small part in the middle", os.urandom(1000)
    whole = big + middle + tail
    upload = client.uploads.create(
        bytes=len(whole), filename="dir/big.bin", mime_type="text/plain", purpose="assistants"
    )
    assert upload.status == "pending"
    assert upload.expires_at - upload.created_at == 3600
    # sent last part first: the order that counts is complete's
    sent = {
        name: client.uploads.parts.create(upload_id=upload.id, data=data)
        for name, data in (("tail", tail), ("big", big), ("middle", middle))
    }
    assert {part.upload_id for part in sent.values()} == {upload.id}
    assert sorted(stack.parts_left(upload.id)) == sorted(part.id for part in sent.values())
    done = client.uploads.complete(
        upload_id=upload.id,
        part_ids=[sent["big"].id, sent["middle"].id, sent["tail"].id],
        md5=md5(whole),
    )
    assert done.status == "completed"
    assert done.file is not None
    assert done.file.bytes == len(whole)
    assert done.file.filename == "big.bin"  # the base name, as POST /v1/files keeps it
    assert done.file.purpose == "assistants"
    assert client.files.retrieve(done.file.id).bytes == len(whole)
    assert client.files.content(done.file.id).read() == whole
    with psycopg.connect(stack.database_url) as conn:
        row = conn.execute(
            "SELECT sha256, content_type FROM files WHERE id = %s", (done.file.id,)
        ).fetchone()
    assert row == (hashlib.sha256(whole).hexdigest(), "text/plain")
    assert stack.parts_left(upload.id) == []  # the parts go once the file is in


def test_upload_file_chunked_sends_a_file_in_parts(stack: Stack, tmp_path: Path) -> None:
    data = b"".join(b'{"n": %d}\n' % n for n in range(300_000))  # ~3.3 MiB of JSONL
    path = tmp_path / "requests.jsonl"
    path.write_bytes(data)
    member = stack.client(stack.member_key)
    done = member.uploads.upload_file_chunked(
        file=path, mime_type="application/jsonl", purpose="batch", part_size=MiB
    )
    assert done.status == "completed"
    assert done.file is not None
    assert done.file.filename == "requests.jsonl"
    assert member.files.content(done.file.id).read() == data
    in_memory = member.uploads.upload_file_chunked(
        file=data[:1000],
        filename="small.jsonl",
        bytes=1000,
        mime_type="text/plain",
        purpose="batch",
        md5=md5(data[:1000]),
    )
    assert in_memory.file is not None
    assert member.files.content(in_memory.file.id).read() == data[:1000]


def test_the_wire_objects_are_openais(stack: Stack) -> None:
    headers = {"authorization": f"Bearer {stack.admin_key}"}
    created = httpx.post(
        f"{stack.url}/v1/uploads",
        json={"bytes": 3, "filename": "a.txt", "mime_type": "text/plain", "purpose": "user_data"},
        headers=headers,
    )
    assert created.status_code == 200, created.text
    upload = created.json()
    assert set(upload) == UPLOAD_KEYS
    assert upload["object"] == "upload"
    assert upload["file"] is None
    part = httpx.post(
        f"{stack.url}/v1/uploads/{upload['id']}/parts",
        files={"data": ("blob", b"abc")},
        headers=headers,
    ).json()
    assert set(part) == {"id", "object", "created_at", "upload_id"}
    assert part["object"] == "upload.part"
    assert part["id"].startswith("part_")
    done = httpx.post(
        f"{stack.url}/v1/uploads/{upload['id']}/complete",
        json={"part_ids": [part["id"]]},
        headers=headers,
    ).json()
    assert set(done) == UPLOAD_KEYS
    assert done["status"] == "completed"
    assert done["file"]["object"] == "file"
    assert done["file"]["bytes"] == 3


def test_cancel_removes_the_parts_and_ends_the_upload(stack: Stack) -> None:
    client = stack.client()
    upload = client.uploads.create(
        bytes=10, filename="c.txt", mime_type="text/plain", purpose="assistants"
    )
    part = client.uploads.parts.create(upload_id=upload.id, data=b"12345")
    assert stack.parts_left(upload.id) == [part.id]
    cancelled = client.uploads.cancel(upload_id=upload.id)
    assert cancelled.status == "cancelled"
    assert stack.parts_left(upload.id) == []
    assert client.uploads.cancel(upload_id=upload.id).status == "cancelled"  # again: the same
    with pytest.raises(openai.BadRequestError) as caught:
        client.uploads.parts.create(upload_id=upload.id, data=b"67890")
    assert error_of(caught)["code"] == "upload_cancelled"
    with pytest.raises(openai.BadRequestError) as caught:
        client.uploads.complete(upload_id=upload.id, part_ids=[part.id])
    assert error_of(caught)["code"] == "upload_cancelled"
    assert stack.parts_left(upload.id) == []  # the refused part was thrown away


def test_a_refused_completion_leaves_the_upload_pending(stack: Stack) -> None:
    client = stack.client()
    upload = client.uploads.create(
        bytes=10, filename="r.txt", mime_type="text/plain", purpose="assistants"
    )
    first = client.uploads.parts.create(upload_id=upload.id, data=b"123456")
    with pytest.raises(openai.BadRequestError) as caught:  # 6 + 5 > the 10 declared
        client.uploads.parts.create(upload_id=upload.id, data=b"78901")
    assert error_of(caught)["code"] == "upload_too_large"
    refusals = [
        ([first.id], "bytes_mismatch"),  # 6 of 10 bytes
        ([first.id, first.id], "invalid_request_error"),  # twice
        ([first.id, "part_unknown"], "unknown_part"),
    ]
    for part_ids, code in refusals:
        with pytest.raises(openai.BadRequestError) as caught:
            client.uploads.complete(upload_id=upload.id, part_ids=part_ids)
        error = error_of(caught)
        assert code in (error["code"], error["type"]), error
        assert error["param"] == "part_ids"
    second = client.uploads.parts.create(upload_id=upload.id, data=b"7890")
    with pytest.raises(openai.BadRequestError) as caught:
        client.uploads.complete(
            upload_id=upload.id, part_ids=[first.id, second.id], md5=md5(b"not these bytes")
        )
    assert error_of(caught)["code"] == "md5_mismatch"
    done = client.uploads.complete(
        upload_id=upload.id, part_ids=[first.id, second.id], md5=md5(b"1234567890")
    )
    assert done.status == "completed"
    assert done.file is not None
    assert client.files.content(done.file.id).read() == b"1234567890"
    for call in (
        lambda: client.uploads.parts.create(upload_id=upload.id, data=b"x"),
        lambda: client.uploads.complete(upload_id=upload.id, part_ids=[first.id, second.id]),
        lambda: client.uploads.cancel(upload_id=upload.id),
    ):
        with pytest.raises(openai.BadRequestError) as caught:
            call()
        assert error_of(caught)["code"] == "upload_completed"
        assert done.file.id in error_of(caught)["message"]


def test_bad_creates_are_refused_in_openais_shape(stack: Stack) -> None:
    admin, member = stack.client(), stack.client(stack.member_key)

    def create(client: openai.OpenAI, **changes: Any) -> Any:
        body: dict[str, Any] = {
            "bytes": 10,
            "filename": "x.txt",
            "mime_type": "text/plain",
            "purpose": "batch",
        }
        body.update(changes)
        return client.uploads.create(**body)

    cases: list[tuple[openai.OpenAI, dict[str, Any], type[openai.APIStatusError], str]] = [
        (admin, {"purpose": "fine-tune"}, openai.BadRequestError, "purpose"),
        (member, {"purpose": "assistants"}, openai.PermissionDeniedError, "permission_denied"),
        (admin, {"bytes": 8 * 1024**3 + 1}, openai.BadRequestError, "upload_too_large"),
        (admin, {"bytes": -1}, openai.BadRequestError, "bytes"),
        (member, {"bytes": MEMBER_CAP + 1}, openai.APIStatusError, "storage_limit_exceeded"),
        (
            admin,
            {"expires_after": {"anchor": "created_at", "seconds": 3600}},
            openai.BadRequestError,
            "unsupported_parameter",
        ),
    ]
    for client, changes, error, code in cases:
        with pytest.raises(error) as caught:
            create(client, **changes)
        found = error_of(caught)
        assert code in (found["code"], found["param"]), (changes, found)
        assert caught.value.status_code < 500
    with pytest.raises(openai.APIStatusError) as too_big:
        create(member, bytes=MEMBER_CAP + 1)
    assert too_big.value.status_code == 413


def test_unknown_and_other_keys_uploads_are_not_found(stack: Stack) -> None:
    admin, member = stack.client(), stack.client(stack.member_key)
    for call in (
        lambda: member.uploads.parts.create(upload_id="upload_nope", data=b"x"),
        lambda: member.uploads.complete(upload_id="upload_nope", part_ids=[]),
        lambda: member.uploads.cancel(upload_id="upload_nope"),
    ):
        with pytest.raises(openai.NotFoundError):
            call()
    admins = admin.uploads.create(
        bytes=1, filename="a.txt", mime_type="text/plain", purpose="batch"
    )
    with pytest.raises(openai.NotFoundError):  # a member sees only its own uploads
        member.uploads.parts.create(upload_id=admins.id, data=b"x")
    members = member.uploads.create(
        bytes=1, filename="m.txt", mime_type="text/plain", purpose="batch"
    )
    part = admin.uploads.parts.create(upload_id=members.id, data=b"m")  # admins see every one
    done = member.uploads.complete(upload_id=members.id, part_ids=[part.id])
    assert done.file is not None
    assert member.files.retrieve(done.file.id).bytes == 1  # the member's own file


def test_bad_part_bodies_are_4xx(stack: Stack) -> None:
    client = stack.client()
    upload = client.uploads.create(
        bytes=100 * MiB, filename="p.bin", mime_type="text/plain", purpose="assistants"
    )
    headers = {"authorization": f"Bearer {stack.admin_key}"}
    url = f"{stack.url}/v1/uploads/{upload.id}/parts"
    not_multipart = httpx.post(url, json={"data": "abc"}, headers=headers)
    assert not_multipart.status_code == 400
    assert not_multipart.json()["error"]["code"] == "invalid_content_type"
    no_data = httpx.post(url, files={"file": ("x", b"abc")}, headers=headers)
    assert no_data.status_code == 400
    assert no_data.json()["error"]["param"] == "data"
    with pytest.raises(openai.APIStatusError) as caught:  # over OpenAI's 64 MiB
        client.uploads.parts.create(upload_id=upload.id, data=b"\0" * (64 * MiB + 1))
    assert caught.value.status_code == 413
    assert error_of(caught)["code"] == "part_too_large"
    assert stack.parts_left(upload.id) == []  # what arrived of it was thrown away
    bad_json = httpx.post(
        f"{stack.url}/v1/uploads/{upload.id}/complete",
        content=b"{not json",
        headers={**headers, "content-type": "application/json"},
    )
    assert bad_json.status_code == 400
    assert "error" in bad_json.json()


def test_idempotency_key_replays_the_created_upload(stack: Stack) -> None:
    client = stack.client()
    key = {"Idempotency-Key": f"create-{os.urandom(6).hex()}"}
    first = client.uploads.create(
        bytes=1, filename="i.txt", mime_type="text/plain", purpose="batch", extra_headers=key
    )
    again = client.uploads.create(
        bytes=1, filename="i.txt", mime_type="text/plain", purpose="batch", extra_headers=key
    )
    assert again.id == first.id


def test_expired_uploads_refuse_parts_and_are_swept(stack: Stack) -> None:
    client = stack.client()
    upload = client.uploads.create(
        bytes=10, filename="e.txt", mime_type="text/plain", purpose="assistants"
    )
    part = client.uploads.parts.create(upload_id=upload.id, data=b"12345")
    with psycopg.connect(stack.database_url, autocommit=True) as conn:  # its hour is over
        conn.execute(
            "UPDATE uploads SET expires_at = now() - interval '1 second' WHERE id = %s",
            (upload.id,),
        )
    with pytest.raises(openai.BadRequestError) as caught:
        client.uploads.parts.create(upload_id=upload.id, data=b"67890")
    assert error_of(caught)["code"] == "upload_expired"
    with pytest.raises(openai.BadRequestError) as caught:
        client.uploads.complete(upload_id=upload.id, part_ids=[part.id])
    assert error_of(caught)["code"] == "upload_expired"

    def status() -> str | None:
        with psycopg.connect(stack.database_url) as conn:
            row = conn.execute("SELECT status FROM uploads WHERE id = %s", (upload.id,)).fetchone()
        return None if row is None else str(row[0])

    wait_until(lambda: status() == "expired" and stack.parts_left(upload.id) == [], timeout_s=15)
    with psycopg.connect(stack.database_url, autocommit=True) as conn:  # and a day later
        conn.execute(
            "UPDATE uploads SET expires_at = now() - interval '2 days' WHERE id = %s",
            (upload.id,),
        )
    wait_until(lambda: status() is None, timeout_s=15)


def test_every_route_needs_a_key(stack: Stack) -> None:
    for path, body in (
        ("/v1/uploads", {"bytes": 1, "filename": "a", "mime_type": "t", "purpose": "batch"}),
        ("/v1/uploads/upload_x/parts", None),
        ("/v1/uploads/upload_x/complete", {"part_ids": []}),
        ("/v1/uploads/upload_x/cancel", None),
    ):
        for headers in ({}, {"authorization": "Bearer rgw-not-a-key"}):
            answer = httpx.post(f"{stack.url}{path}", json=body, headers=headers)
            assert answer.status_code == 401, (path, answer.text)
            assert answer.json()["error"]["code"] == "invalid_api_key"


def test_the_routes_are_in_the_openapi_document(stack: Stack) -> None:
    paths = httpx.get(f"{stack.url}/openapi/openapi.json").json()["paths"]
    for path in (
        "/v1/uploads",
        "/v1/uploads/{upload_id}/parts",
        "/v1/uploads/{upload_id}/complete",
        "/v1/uploads/{upload_id}/cancel",
        "/v1/files/{file_id}/content",
    ):
        assert "post" in paths[path] or "get" in paths[path], path


def test_an_empty_file_completes_with_no_parts(stack: Stack) -> None:
    client = stack.client()
    upload = client.uploads.create(
        bytes=0, filename="empty.jsonl", mime_type="text/plain", purpose="batch"
    )
    done = client.uploads.complete(upload_id=upload.id, part_ids=[], md5=md5(b""))
    assert done.file is not None
    assert done.file.bytes == 0
    assert client.files.content(done.file.id).read() == b""


def test_two_completions_at_once_make_one_file(stack: Stack) -> None:
    client = stack.client()
    data = os.urandom(12 * MiB)
    upload = client.uploads.create(
        bytes=len(data), filename="race.bin", mime_type="text/plain", purpose="assistants"
    )
    parts = [
        client.uploads.parts.create(upload_id=upload.id, data=data[i : i + 6 * MiB]).id
        for i in (0, 6 * MiB)
    ]

    def complete() -> int | str:
        try:
            done = client.uploads.complete(upload_id=upload.id, part_ids=parts)
        except openai.APIStatusError as exc:
            return exc.status_code
        assert done.file is not None
        return done.file.id

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(lambda _: complete(), range(2)))
    files = [o for o in outcomes if isinstance(o, str)]
    assert len(files) == 1, outcomes
    assert next(o for o in outcomes if isinstance(o, int)) in (400, 409)  # completing, completed
    assert client.files.content(files[0]).read() == data


def test_open_uploads_hold_their_bytes_in_a_members_limit(local_stack: Stack) -> None:
    """A member's pending uploads count against ``files.member_max_bytes_per_key`` until
    they end: many open uploads cannot fill storage past the limit while their parts wait."""
    _, key = insert_key(local_stack.database_url, f"uploads-room-{os.getpid()}", role="member")
    member = local_stack.client(key)

    def create(size: int) -> Any:
        return member.uploads.create(
            bytes=size, filename="x.bin", mime_type="application/octet-stream", purpose="batch"
        )

    first = create(MEMBER_CAP - 1000)
    with pytest.raises(openai.APIStatusError) as held:
        create(2000)  # the first one holds the room
    assert held.value.status_code == 413
    assert error_of(held)["code"] == "storage_limit_exceeded"
    with pytest.raises(openai.APIStatusError) as as_file:  # a plain file upload too
        member.files.create(file=("x.jsonl", b"x" * 2000), purpose="batch")
    assert as_file.value.status_code == 413
    second = create(1000)  # what is left
    part = member.uploads.parts.create(upload_id=second.id, data=b"y" * 1000)
    done = member.uploads.complete(upload_id=second.id, part_ids=[part.id])  # not itself
    assert done.status == "completed"
    member.uploads.cancel(upload_id=first.id)
    third = create(2000)  # the cancelled one's bytes are free again
    assert third.status == "pending"
