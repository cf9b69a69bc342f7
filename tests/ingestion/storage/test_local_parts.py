"""``LocalStorage``'s parts of an upload: staged files, joined in any order, discarded."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ingestion.errors import StorageError
from ingestion.storage import LocalStorage, ObjectStorage


def test_parts_join_in_the_given_order_and_are_discarded(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "files")
    tokens = {}
    for name, data in (("part_a", b"alpha "), ("part_b", b"beta "), ("part_c", b"gamma")):
        writer = storage.part_writer("upload_x", name)
        writer.write(data)
        staged = writer.finish()
        assert staged.key == hashlib.sha256(data).hexdigest()
        assert oct(Path(staged.token).stat().st_mode & 0o777) == "0o600"
        assert staged.token.startswith(storage.part_token_prefix)
        tokens[name] = staged.token
    assembled = storage.assemble([tokens["part_c"], tokens["part_a"], tokens["part_b"]])
    whole = b"gammaalpha beta "
    assert assembled.staged.key == hashlib.sha256(whole).hexdigest()
    assert assembled.md5 == hashlib.md5(whole, usedforsecurity=False).hexdigest()
    storage.commit(assembled.staged)
    with storage.read(assembled.staged.key) as handle:
        assert handle.read() == whole
    parts = tmp_path / "files" / ".staging" / "uploads" / "upload_x"
    assert parts.is_dir()
    storage.discard_parts("upload_x")
    storage.discard_parts("upload_x")  # idempotent
    assert not parts.exists()
    as_protocol: ObjectStorage = storage
    assert as_protocol.download_url(assembled.staged.key) is None  # streamed by the gateway


def test_tokens_and_ids_outside_the_uploads_folder_are_refused(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "files")
    for bad_id in ("..", "a/b", "", "x" * 65):
        with pytest.raises(StorageError, match="not an upload"):
            storage.part_writer(bad_id, "part_a")
    outside = tmp_path / "secret.part"
    outside.write_bytes(b"not a part")
    escaping = tmp_path / "files" / ".staging" / "uploads" / ".." / ".." / "secret.part"
    for token in (str(outside), str(escaping), "relative.part"):
        with pytest.raises(StorageError, match="not a part"):
            storage.assemble([token])


def test_a_missing_part_fails_the_assembly_and_stages_nothing(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "files")
    gone = tmp_path / "files" / ".staging" / "uploads" / "upload_y" / "part_gone.part"
    with pytest.raises(StorageError, match="cannot read a part"):
        storage.assemble([str(gone)])
    assert [p.name for p in (tmp_path / "files" / ".staging").iterdir()] == []
