"""moto's S3 server on loopback for the storage tests, and an ``S3Storage`` on a new bucket."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from configs import S3StorageSettings
from ingestion.storage._s3 import S3Storage
from tests.support.s3 import MotoS3

PART = 5 * 1024 * 1024  # S3's smallest part: multipart uploads with little data


@pytest.fixture(scope="package")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoS3]:
    with MotoS3(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server


@pytest.fixture
def bucket(moto: MotoS3) -> str:
    return moto.bucket("storage")


def s3_storage(moto: MotoS3, bucket: str, **overrides: Any) -> S3Storage:
    """Built from settings as ragway builds it, credentials from the test's own session."""
    settings = S3StorageSettings.model_validate(
        {
            "kind": "s3",
            "bucket": bucket,
            "prefix": "tests/",
            "endpoint_url": moto.url,
            "addressing_style": "path",
            "part_size_bytes": PART,
            **overrides,
        }
    )
    return S3Storage.from_settings(settings, session=moto.session())


@pytest.fixture
def storage(moto: MotoS3, bucket: str) -> S3Storage:
    return s3_storage(moto, bucket)
