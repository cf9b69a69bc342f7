"""Stacks of this package's own, on moto's S3 server and on a local directory.

- ``s3_stack``: a ``ragway gateway`` on S3 (fake credentials in its environment only), an
  admin and a member key; ``s3_worker``, a ``ragway worker`` beside it (a fake OpenAI
  upstream answers its batches);
- ``presigned_url``: a second gateway on the same bucket and database whose file content
  answers 307 to a presigned URL;
- ``local_stack``: a gateway (uvicorn in a thread) on local storage, with its own keys.

Every gateway sweeps expired uploads each half second; members may keep ``MEMBER_CAP``
bytes of files.
"""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from openai import OpenAI

from configs import load_settings
from gateway.entry.app import create_app
from tests.support.fake_openai import FakeOpenAI
from tests.support.policy import UPSTREAM_ENV, priced_providers
from tests.support.processes import GatewayProcess, insert_key
from tests.support.s3 import AWS_ENV, MotoS3
from tests.support.servers import ServerThread, start_process

MEMBER_CAP = 40 * 1024 * 1024
PREFIX = "ragway-tests/"


@dataclass
class Stack:
    """What a test drives: a gateway's URL, its keys, and where its storage keeps parts."""

    kind: str  # "local" or "s3"
    url: str
    database_url: str
    admin_key: str
    member_key: str
    member_id: str
    parts_left: Callable[[str], list[str]]  # upload id -> the parts storage still holds

    def client(self, key: str | None = None) -> OpenAI:
        return OpenAI(
            base_url=f"{self.url}/v1", api_key=key or self.admin_key, max_retries=0, timeout=120
        )


@pytest.fixture(scope="package")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoS3]:
    with MotoS3(tmp_path_factory.mktemp("uploads-moto") / "moto.log") as server:
        yield server


@pytest.fixture(scope="package")
def s3_bucket(moto: MotoS3) -> str:
    return moto.bucket("uploads")


@pytest.fixture(scope="package")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def _common_env(stack_env: dict[str, str], folder: Path) -> dict[str, str]:
    return {
        **stack_env,
        "RAGWAY_DATA_DIR": str(folder / "data"),
        "RAGWAY_FILES__UPLOADS__SWEEP_INTERVAL_S": "0.5",
        "RAGWAY_FILES__MEMBER_MAX_BYTES_PER_KEY": str(MEMBER_CAP),
        "RAGWAY_INGESTION__METRICS_PORT": "0",
    }


@pytest.fixture(scope="package")
def s3_env(
    stack_env: dict[str, str],
    moto: MotoS3,
    s3_bucket: str,
    upstream: FakeOpenAI,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("uploads-s3")
    models = priced_providers(upstream.base_url)["models"]
    return {
        **_common_env(stack_env, folder),
        **UPSTREAM_ENV,
        **AWS_ENV,
        "RAGWAY_PROVIDERS__MODELS": json.dumps(models),
        "RAGWAY_WORKER__NAMESPACE": f"{stack_env['RAGWAY_WORKER__NAMESPACE']}-uploads",
        "RAGWAY_WORKER__THREADS": "2",
        "RAGWAY_INGESTION__STORAGE__KIND": "s3",
        "RAGWAY_INGESTION__STORAGE__BUCKET": s3_bucket,
        "RAGWAY_INGESTION__STORAGE__PREFIX": PREFIX,
        "RAGWAY_INGESTION__STORAGE__ENDPOINT_URL": moto.url,
        "RAGWAY_INGESTION__STORAGE__ADDRESSING_STYLE": "path",
        "RAGWAY_INGESTION__STORAGE__PART_SIZE_BYTES": str(5 * 1024 * 1024),
        "RAGWAY_INGESTION__STORAGE__MAX_ATTEMPTS": "2",
    }


def _s3_parts_left(moto: MotoS3, bucket: str) -> Callable[[str], list[str]]:
    def parts_left(upload_id: str) -> list[str]:
        listed = moto.client().list_objects_v2(
            Bucket=bucket, Prefix=f"{PREFIX}uploads/{upload_id}/"
        )
        return [item["Key"].rsplit("/", 1)[-1] for item in listed.get("Contents", [])]

    return parts_left


@pytest.fixture(scope="package")
def s3_stack(
    s3_env: dict[str, str], database_url: str, moto: MotoS3, s3_bucket: str
) -> Iterator[Stack]:
    """A gateway on S3 (the Uploads API needs no worker: ``s3_worker`` starts one)."""
    folder = Path(s3_env["RAGWAY_DATA_DIR"]).parent
    _, admin_key = insert_key(database_url, f"uploads-admin-{secrets.token_hex(3)}")
    member_id, member_key = insert_key(
        database_url, f"uploads-member-{secrets.token_hex(3)}", role="member"
    )
    with GatewayProcess(s3_env, folder / "gateway.log") as gateway:
        yield Stack(
            "s3",
            gateway.url,
            database_url,
            admin_key,
            member_key,
            member_id,
            _s3_parts_left(moto, s3_bucket),
        )


@pytest.fixture(scope="package")
def s3_worker(s3_env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """A ``ragway worker`` on the same bucket: ingestion and batches read and write S3."""
    worker = start_process(["worker"], s3_env)
    try:
        yield worker
    finally:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)


@pytest.fixture(scope="package")
def presigned_url(s3_env: dict[str, str], s3_stack: Stack) -> Iterator[str]:
    """A gateway on the same bucket and database whose downloads are presigned redirects."""
    env = {
        **s3_env,
        "RAGWAY_INGESTION__STORAGE__PRESIGN_DOWNLOADS": "true",
        "RAGWAY_INGESTION__STORAGE__PRESIGN_TTL_S": "60",
    }
    log = Path(s3_env["RAGWAY_DATA_DIR"]).parent / "gateway-presigned.log"
    with GatewayProcess(env, log) as gateway:
        yield gateway.url


@pytest.fixture(scope="package")
def local_stack(
    stack_env: dict[str, str], database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("uploads-local")
    settings = load_settings(config_files=[], env=_common_env(stack_env, folder))
    assert settings.redis.url is not None
    app = create_app(
        settings, database_url=database_url, redis_url=settings.redis.url.get_secret_value()
    )
    staging = (settings.data_dir / "files" / ".staging" / "uploads").resolve()

    def parts_left(upload_id: str) -> list[str]:
        folder = staging / upload_id
        return sorted(p.stem for p in folder.iterdir()) if folder.is_dir() else []

    _, admin_key = insert_key(database_url, f"uploads-local-admin-{secrets.token_hex(3)}")
    member_id, member_key = insert_key(
        database_url, f"uploads-local-member-{secrets.token_hex(3)}", role="member"
    )
    with ServerThread(app) as server:
        yield Stack(
            "local", server.base_url, database_url, admin_key, member_key, member_id, parts_left
        )


@pytest.fixture(params=["local", "s3"])
def stack(request: pytest.FixtureRequest) -> Stack:
    """Each Uploads API test runs on both storages."""
    if request.param == "local":
        found: Stack = request.getfixturevalue("local_stack")
        return found
    s3: Stack = request.getfixturevalue("s3_stack")
    return s3
