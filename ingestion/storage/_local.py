"""Local-directory object storage: ``<root>/<aa>/<bb>/<sha256>``, staged in ``<root>/.staging``;
the parts of an upload sent in parts wait in ``<root>/.staging/uploads/<upload id>/``.

Uploads are private to the user ragway runs as, whatever its umask: folders are 0700 and
files 0600 (the root is tightened at start, which also covers objects an older release
stored with the umask's modes).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from ingestion.errors import StorageError
from ingestion.storage._base import AssembledObject, StagedObject

__all__ = ["LocalStorage"]

_KEY = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # an upload's or a part's id
_DIR_MODE = 0o700
_FILE_MODE = 0o600


def _private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) as 0700; an existing one is made 0700."""
    if not path.parent.is_dir():
        _private_dir(path.parent)
    try:
        path.mkdir(mode=_DIR_MODE, exist_ok=True)
        path.chmod(_DIR_MODE)  # mkdir's mode is masked by the umask, and exist_ok keeps old modes
    except OSError as exc:
        raise StorageError(f"cannot make the private folder {path}: {exc.strerror}") from exc


def _private_file(path: Path) -> BinaryIO:
    """A new file open for writing, mode 0600 whatever the umask."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, _FILE_MODE)
    try:
        os.fchmod(fd, _FILE_MODE)  # the umask can take bits away from 0600 (0400), not add
        return os.fdopen(fd, "wb")
    except OSError:
        os.close(fd)
        raise


class _LocalWriter:
    def __init__(self, path: Path) -> None:
        self._path = path
        try:
            self._file: BinaryIO = _private_file(self._path)
        except OSError as exc:
            raise StorageError(f"cannot stage an upload in {path.parent}: {exc.strerror}") from exc
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
        _private_dir(root)
        _private_dir(self._staging)

    @property
    def root(self) -> Path:
        return self._root

    def writer(self) -> _LocalWriter:
        return _LocalWriter(self._staging / f"{secrets.token_hex(16)}.part")

    def commit(self, staged: StagedObject) -> None:
        target = self._path(staged.key)
        source = Path(staged.token)
        if target.exists():
            source.unlink(missing_ok=True)
            return
        _private_dir(target.parent)
        try:
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

    def download_url(self, key: str) -> None:
        return None  # the gateway streams the file

    @property
    def part_token_prefix(self) -> str:
        return f"{self._staging / 'uploads'}/"

    def part_writer(self, upload_id: str, part_id: str) -> _LocalWriter:
        folder = self._parts(upload_id)
        _private_dir(folder)
        return _LocalWriter(folder / f"{_checked_name(part_id)}.part")

    def assemble(self, tokens: Sequence[str]) -> AssembledObject:
        writer = self.writer()
        md5 = hashlib.md5(usedforsecurity=False)
        try:
            for token in tokens:
                with self._part(token).open("rb") as part:
                    while piece := part.read(1 << 20):
                        writer.write(piece)
                        md5.update(piece)
            staged = writer.finish()
        except OSError as exc:
            writer.abort()
            raise StorageError(f"cannot read a part of an upload: {exc.strerror}") from exc
        except BaseException:
            writer.abort()
            raise
        return AssembledObject(staged, md5.hexdigest())

    def discard_parts(self, upload_id: str) -> None:
        try:
            shutil.rmtree(self._parts(upload_id))
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StorageError(f"cannot remove the parts of {upload_id}: {exc.strerror}") from exc

    def _parts(self, upload_id: str) -> Path:
        return self._staging / "uploads" / _checked_name(upload_id)

    def _part(self, token: str) -> Path:
        path = Path(token)
        if path.parent.parent != self._staging / "uploads" or path.suffix != ".part":
            raise StorageError(f"not a part of an upload in {self._root}: {token!r}")
        return path

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise StorageError(f"not a sha256 object key: {key!r}")
        return self._root / key[:2] / key[2:4] / key


def _checked_name(name: str) -> str:
    if not _NAME.match(name):
        raise StorageError(f"not an upload's or a part's id: {name!r}")
    return name
