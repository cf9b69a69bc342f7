"""A retry with the same ``Idempotency-Key`` replays the first answer; anything else is refused.

The official ``openai`` client is the caller (the key in ``extra_headers``, as OpenAI's docs
show); the rows the first requests created are counted in Postgres.
"""

from __future__ import annotations

import io
import json
import uuid

import httpx
import openai
import pytest

from tests.gateway.idempotency.conftest import client, idempotency, new_key, rows
from tests.support.fake_openai import FakeOpenAI


def _stores_named(database_url: str, name: str) -> int:
    return len(rows(database_url, "SELECT id FROM vector_stores WHERE name = %s", name))


def test_a_vector_store_created_twice_with_one_key_is_created_once(
    gateway_url: str, database_url: str
) -> None:
    sdk = client(gateway_url, new_key(database_url))
    name = f"idem-{uuid.uuid4()}"
    headers = idempotency()
    first = sdk.vector_stores.with_raw_response.create(name=name, extra_headers=headers)
    again = sdk.vector_stores.with_raw_response.create(name=name, extra_headers=headers)
    assert again.status_code == first.status_code == 200
    assert again.content == first.content  # the same answer, byte for byte
    assert again.parse().id == first.parse().id
    assert first.headers.get("idempotent-replayed") is None
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == first.headers["content-type"]
    assert _stores_named(database_url, name) == 1


def test_an_upload_retried_with_its_key_is_one_file(gateway_url: str, database_url: str) -> None:
    """The SDK encodes a multipart body again for each send (a new random boundary): the
    retry still matches, since the parts are compared, not the raw bytes."""
    key = new_key(database_url)
    sdk = client(gateway_url, key)
    headers = idempotency()
    name = f"notes-{uuid.uuid4()}.txt"
    first = sdk.files.create(
        file=(name, io.BytesIO(b"hello idempotent world")),
        purpose="assistants",
        extra_headers=headers,
    )
    again = sdk.files.with_raw_response.create(
        file=(name, io.BytesIO(b"hello idempotent world")),
        purpose="assistants",
        extra_headers=headers,
    )
    assert again.headers["idempotent-replayed"] == "true"
    assert again.parse() == first
    assert len(rows(database_url, "SELECT id FROM files WHERE filename = %s", name)) == 1
    # other bytes under the same key: refused, and nothing stored
    with pytest.raises(openai.UnprocessableEntityError) as refused:
        sdk.files.create(
            file=(name, io.BytesIO(b"other bytes")), purpose="assistants", extra_headers=headers
        )
    assert refused.value.code == "idempotency_key_reused"
    assert "different body" in refused.value.message
    assert len(rows(database_url, "SELECT id FROM files WHERE filename = %s", name)) == 1


def test_the_same_key_with_another_body_or_path_is_a_422(
    gateway_url: str, database_url: str
) -> None:
    sdk = client(gateway_url, new_key(database_url))
    headers = idempotency()
    sdk.vector_stores.create(name=f"idem-{uuid.uuid4()}", extra_headers=headers)
    with pytest.raises(openai.UnprocessableEntityError) as body:
        sdk.vector_stores.create(name="another name", extra_headers=headers)
    assert body.value.code == "idempotency_key_reused"
    assert body.value.param == "Idempotency-Key"
    assert "different body" in body.value.message
    assert _stores_named(database_url, "another name") == 0
    with pytest.raises(openai.UnprocessableEntityError) as path:
        sdk.files.create(
            file=("a.txt", io.BytesIO(b"a")), purpose="assistants", extra_headers=headers
        )
    assert "was first used for POST /v1/vector_stores" in path.value.message


def test_keys_are_scoped_to_the_api_key_that_sent_them(gateway_url: str, database_url: str) -> None:
    headers = idempotency()
    name = f"idem-{uuid.uuid4()}"
    mine = client(gateway_url, new_key(database_url)).vector_stores.create(
        name=name, extra_headers=headers
    )
    theirs = client(gateway_url, new_key(database_url)).vector_stores.with_raw_response.create(
        name=name, extra_headers=headers
    )
    assert theirs.headers.get("idempotent-replayed") is None
    assert theirs.parse().id != mine.id
    assert _stores_named(database_url, name) == 2


def test_a_response_is_replayed_without_asking_the_model_again(
    gateway_url: str, database_url: str, upstream: FakeOpenAI
) -> None:
    sdk = client(gateway_url, new_key(database_url))
    headers = idempotency()
    first = sdk.responses.with_raw_response.create(
        model="chat", input="say it once", extra_headers=headers
    )
    asked = len(upstream.requests)
    again = sdk.responses.with_raw_response.create(
        model="chat", input="say it once", extra_headers=headers
    )
    assert len(upstream.requests) == asked
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert again.parse().output_text == "echo: say it once"
    with pytest.raises(openai.UnprocessableEntityError):
        sdk.responses.create(model="chat", input="say it twice", extra_headers=headers)
    assert len(upstream.requests) == asked


def test_a_stream_with_a_key_is_refused(gateway_url: str, database_url: str) -> None:
    sdk = client(gateway_url, new_key(database_url))
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.responses.create(model="chat", input="hi", stream=True, extra_headers=idempotency())
    assert refused.value.code == "idempotency_key_with_stream"


def test_errors_are_not_kept_so_a_retry_runs_again(
    gateway_url: str, database_url: str, upstream: FakeOpenAI
) -> None:
    key = new_key(database_url)
    sdk = client(gateway_url, key)
    headers = idempotency()
    for _ in range(2):  # a 5xx: the retry reaches the upstream again
        before = upstream.count()
        with pytest.raises(openai.APIStatusError) as failed:
            sdk.responses.create(model="broken", input="hi", extra_headers=headers)
        assert failed.value.status_code >= 500
        assert upstream.count() == before + 1
    # a 400 is not kept either: the key is free for the request it was meant for
    bad = httpx.post(
        f"{gateway_url}/v1/vector_stores",
        content=b'{"name": 5}',
        headers={"authorization": f"Bearer {key}", **headers},
    )
    assert bad.status_code == 400
    store = sdk.vector_stores.create(name=f"idem-{uuid.uuid4()}", extra_headers=headers)
    assert store.id.startswith("vs_")


def test_an_expired_key_runs_again(gateway_url: str, database_url: str) -> None:
    sdk = client(gateway_url, new_key(database_url))
    headers = idempotency()
    name = f"idem-{uuid.uuid4()}"
    first = sdk.vector_stores.create(name=name, extra_headers=headers)
    rows(
        database_url,
        "UPDATE idempotency_keys SET expires_at = now() - interval '1 second' "
        "WHERE idempotency_key = %s RETURNING 1",
        headers["Idempotency-Key"],
    )
    again = sdk.vector_stores.with_raw_response.create(name=name, extra_headers=headers)
    assert again.headers.get("idempotent-replayed") is None
    assert again.parse().id != first.id


@pytest.mark.parametrize("value", ["x" * 256, "", "caf\u00e9", "tab\there"])
def test_a_malformed_key_is_a_400(gateway_url: str, database_url: str, value: str) -> None:
    answer = httpx.post(
        f"{gateway_url}/v1/vector_stores",
        json={"name": "never"},
        headers=[
            (b"authorization", f"Bearer {new_key(database_url)}".encode()),
            (b"idempotency-key", value.encode("utf-8")),
        ],
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_idempotency_key"


def test_a_request_that_does_not_authenticate_is_not_recorded(
    gateway_url: str, database_url: str
) -> None:
    headers = idempotency()
    answer = httpx.post(
        f"{gateway_url}/v1/vector_stores",
        json={"name": "never"},
        headers={"authorization": "Bearer sk-not-a-key", **headers},
    )
    assert answer.status_code == 401
    assert json.loads(answer.content)["error"]["code"] == "invalid_api_key"
    found = rows(
        database_url,
        "SELECT 1 FROM idempotency_keys WHERE idempotency_key = %s",
        headers["Idempotency-Key"],
    )
    assert found == []


def test_api_key_creation_refuses_a_key(gateway_url: str, database_url: str) -> None:
    """A replay would have to show the new secret again, which is never stored."""
    answer = httpx.post(
        f"{gateway_url}/admin/keys",
        json={"name": "never"},
        headers={"authorization": f"Bearer {new_key(database_url, role='admin')}", **idempotency()},
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "idempotency_key_not_supported"
