"""Local-directory object storage: ``<root>/<aa>/<bb>/<sha256>``, staged in ``<root>/.staging``."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ingestion.errors import StorageError
from ingestion.storage._base import StagedObject

__all__ = ["LocalStorage"]

_KEY = re.compile(r"^[0-9a-f]{64}$")


class _LocalWriter:
    def __init__(self, staging: Path) -> None:
        self._path = staging / f"{secrets.token_hex(16)}.part"
        try:
            self._file: BinaryIO = self._path.open("wb")
        except OSError as exc:
            raise StorageError(f"cannot stage an upload in {staging}: {exc.strerror}") from exc
        self._hash = hashlib.sha256()
        self._size = 0

    @property
    def size(self) -> int:
        return self._size

    def write(self, data: bytes) -> None:
        try:
            self._file.write(data)
        except OSError as exc:
            self.abort()
            raise StorageError(f"cannot write an upload: {exc.strerror}") from exc
        self._hash.update(data)
        self._size += len(data)

    def finish(self) -> StagedObject:
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
        finally:
            self._file.close()
        return StagedObject(key=self._hash.hexdigest(), size=self._size, token=str(self._path))

    def abort(self) -> None:
        self._file.close()
        self._path.unlink(missing_ok=True)


class LocalStorage:
    """Objects as files under ``root``; writes are staged then renamed into place (atomic)."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._staging = root / ".staging"
        self._staging.mkdir(parents=True, exist_ok=True)

    @property
    def root(self) -> Path:
        return self._root

    def writer(self) -> _LocalWriter:
        return _LocalWriter(self._staging)

    def commit(self, staged: StagedObject) -> None:
        target = self._path(staged.key)
        source = Path(staged.token)
        if target.exists():
            source.unlink(missing_ok=True)
            return
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
        except OSError as exc:
            raise StorageError(f"cannot store object {staged.key}: {exc.strerror}") from exc

    def discard(self, staged: StagedObject) -> None:
        Path(staged.token).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    @contextlib.contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        path = self._path(key)
        if not path.is_file():
            raise StorageError(f"object {key} is missing from {self._root}")
        yield path

    @contextlib.contextmanager
    def read(self, key: str, *, chunk_size: int = 1 << 20) -> Iterator[BinaryIO]:
        try:
            handle = self._path(key).open("rb", buffering=chunk_size)
        except FileNotFoundError as exc:
            raise StorageError(f"object {key} is missing from {self._root}") from exc
        with handle:
            yield handle

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot delete object {key}: {exc.strerror}") from exc

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise StorageError(f"not a sha256 object key: {key!r}")
        return self._root / key[:2] / key[2:4] / key
