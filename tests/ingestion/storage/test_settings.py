"""``ingestion.storage``: the kind picks the implementation; s3's keys are checked with
messages that say what to write, and never take credentials."""

from __future__ import annotations

from pathlib import Path

import pytest

from configs import LocalStorageSettings, S3StorageSettings, SettingsError, load_settings
from ingestion.storage import LocalStorage, build_storage
from ingestion.storage._s3 import S3Storage

S3 = {"RAGWAY_INGESTION__STORAGE__KIND": "s3", "RAGWAY_INGESTION__STORAGE__BUCKET": "my-bkt"}


def refusal(env: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings(config_files=[], env=env)
    return str(caught.value)


def test_local_is_the_default_and_s3_is_chosen_by_kind(tmp_path: Path) -> None:
    default = load_settings(config_files=[], env={}).ingestion.storage
    assert isinstance(default, LocalStorageSettings)
    assert isinstance(build_storage(default, data_dir=tmp_path), LocalStorage)
    chosen = load_settings(
        config_files=[],
        env={
            **S3,
            "RAGWAY_INGESTION__STORAGE__PREFIX": "team-a",
            "RAGWAY_INGESTION__STORAGE__ENDPOINT_URL": "http://minio:9000",
            "RAGWAY_INGESTION__STORAGE__PRESIGN_DOWNLOADS": "true",
        },
    ).ingestion.storage
    assert isinstance(chosen, S3StorageSettings)
    assert chosen.prefix == "team-a/"  # a folder: the '/' is added
    assert chosen.presign_downloads
    assert chosen.part_size_bytes == 16 * 1024 * 1024
    assert isinstance(build_storage(chosen, data_dir=tmp_path), S3Storage)


def test_a_config_file_sets_s3_over_the_default_local(tmp_path: Path) -> None:
    config = tmp_path / "s3.yaml"
    config.write_text(
        "ingestion:\n  storage:\n    kind: s3\n    bucket: docs.example\n"
        "    addressing_style: path\n    part_size_bytes: 8388608\n"
    )
    storage = load_settings(config_files=[config], env={}).ingestion.storage
    assert isinstance(storage, S3StorageSettings)
    assert storage.bucket == "docs.example"
    assert storage.part_size_bytes == 8 * 1024 * 1024


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"RAGWAY_INGESTION__STORAGE__KIND": "s3"}, "'ingestion.storage.bucket': Field required"),
        (
            {**S3, "RAGWAY_INGESTION__STORAGE__BUCKET": "My_Bucket"},
            "a bucket name is 3-63 lowercase letters, digits, dots and hyphens",
        ),
        (
            {**S3, "RAGWAY_INGESTION__STORAGE__PART_SIZE_BYTES": "1048576"},
            "'ingestion.storage.part_size_bytes': Input should be greater than or equal to 5242880",
        ),
        ({**S3, "RAGWAY_INGESTION__STORAGE__PREFIX": "/abs"}, "does not begin with '/'"),
        (
            {**S3, "RAGWAY_INGESTION__STORAGE__ENDPOINT_URL": "minio:9000"},
            "an endpoint URL is http(s)://host[:port]",
        ),
        (
            {**S3, "RAGWAY_INGESTION__STORAGE__ADDRESSING_STYLE": "dns"},
            "'ingestion.storage.addressing_style'",
        ),
        ({"RAGWAY_INGESTION__STORAGE__KIND": "gcs"}, "expected one of 'local', 's3'"),
        ({"RAGWAY_INGESTION__STORAGE__BUCKET": "abc"}, "'ingestion.storage.bucket': unknown key"),
    ],
)
def test_bad_storage_settings_name_the_key_and_what_to_write(
    env: dict[str, str], expected: str
) -> None:
    assert expected in refusal(env)


def test_credentials_in_the_endpoint_are_refused_and_not_echoed() -> None:
    message = refusal(
        {**S3, "RAGWAY_INGESTION__STORAGE__ENDPOINT_URL": "http://AKIAXXX:hunter2@minio:9000"}
    )
    assert "credentials never go in the endpoint URL" in message
    assert "hunter2" not in message
    assert "AKIAXXX" not in message
    assert "aws_access_key_id" not in S3StorageSettings.model_fields  # no such setting at all
