"""A member key's stored files are capped (``files.member_max_*``); admin keys are not.

The official ``openai`` client uploads to a gateway of this module's own whose caps are
small: 1000 bytes and 5 files per member key. Concurrent uploads by one key are counted
exactly: of many at once, just as many as fit are kept.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import openai
import psycopg
import pytest

from configs import load_settings
from gateway.entry.app import create_app
from tests.support.keys import insert_key
from tests.support.servers import ServerThread
from tests.support.services import RedisForTests

MAX_BYTES = 1000
MAX_FILES = 5


@pytest.fixture(scope="module")
def quota_url(
    stack_env: dict[str, str], database_url: str, redis_service: RedisForTests
) -> Iterator[str]:
    env = {
        **stack_env,
        "RAGWAY_FILES__MEMBER_MAX_BYTES_PER_KEY": str(MAX_BYTES),
        "RAGWAY_FILES__MEMBER_MAX_FILES_PER_KEY": str(MAX_FILES),
    }
    settings = load_settings(config_files=[], env=env)
    app = create_app(settings, database_url=database_url, redis_url=redis_service.url)
    with ServerThread(app) as server:
        yield server.base_url


def client(url: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)


def upload(sdk: openai.OpenAI, size: int, name: str = "input.jsonl") -> str:
    return sdk.files.create(file=(name, b"x" * size), purpose="batch").id


def stored(database_url: str, key: str) -> tuple[int, int]:
    """(files, bytes) the key owns, by its secret's display prefix."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(f.id), coalesce(sum(f.bytes), 0) FROM api_keys AS k "
            "LEFT JOIN files AS f ON f.owner_key_id = k.id WHERE %s LIKE k.display_prefix || '%%'",
            (key,),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def test_an_upload_past_the_bytes_cap_is_a_413_naming_the_limit(
    quota_url: str, database_url: str
) -> None:
    sdk = client(quota_url, insert_key(database_url, name="quota-bytes"))
    first = upload(sdk, 600)
    with pytest.raises(openai.APIStatusError) as refused:
        upload(sdk, 401)  # 1001 bytes in all
    assert refused.value.status_code == 413
    error = refused.value.body
    assert isinstance(error, dict)
    assert error["code"] == "storage_limit_exceeded"
    assert error["type"] == "invalid_request_error"
    assert "files.member_max_bytes_per_key" in error["message"]
    assert str(MAX_BYTES) in error["message"]
    upload(sdk, 400)  # exactly the cap
    with pytest.raises(openai.APIStatusError) as full:
        upload(sdk, 1)
    assert full.value.status_code == 413
    sdk.files.delete(first)  # deleting makes room again
    upload(sdk, 600)


def test_an_upload_larger_than_the_room_left_is_refused_as_it_streams(
    quota_url: str, database_url: str
) -> None:
    key = insert_key(database_url, name="quota-stream")
    with pytest.raises(openai.APIStatusError) as refused:
        upload(client(quota_url, key), 1_000_000)
    assert refused.value.status_code == 413
    assert stored(database_url, key) == (0, 0)


def test_the_file_count_cap_is_a_400(quota_url: str, database_url: str) -> None:
    sdk = client(quota_url, insert_key(database_url, name="quota-count"))
    for _ in range(MAX_FILES):
        upload(sdk, 1)
    with pytest.raises(openai.BadRequestError) as refused:
        upload(sdk, 1)
    error = refused.value.body
    assert isinstance(error, dict)
    assert error["code"] == "file_limit_exceeded"
    assert "files.member_max_files_per_key" in error["message"]


def test_admin_uploads_are_not_capped(quota_url: str, database_url: str) -> None:
    sdk = client(quota_url, insert_key(database_url, name="quota-admin", role="admin"))
    for _ in range(MAX_FILES + 1):
        upload(sdk, MAX_BYTES)


def race(url: str, key: str, *, size: int, uploads: int) -> list[int]:
    """``uploads`` uploads of ``size`` bytes by ``key`` at once; their status codes."""
    sdk = client(url, key)
    start = threading.Barrier(uploads)
    outcomes: list[int] = []

    def one() -> None:
        start.wait()
        try:
            upload(sdk, size)
        except openai.APIStatusError as exc:
            outcomes.append(exc.status_code)
        else:
            outcomes.append(200)

    threads = [threading.Thread(target=one) for _ in range(uploads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(outcomes)


@pytest.mark.parametrize("round_", range(4))  # a race lost once in a while still shows
def test_concurrent_uploads_keep_only_what_fits(
    quota_url: str, database_url: str, round_: int
) -> None:
    key = insert_key(database_url, name=f"quota-race-{round_}")
    size, uploads = 300, 16  # 3 fit in 1000 bytes
    assert race(quota_url, key, size=size, uploads=uploads) == [200] * 3 + [413] * (uploads - 3)
    assert stored(database_url, key) == (3, 3 * size)
