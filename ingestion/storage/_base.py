"""The object storage interface: content-addressed, written as a stream, committed atomically."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

__all__ = ["AssembledObject", "ObjectStorage", "ObjectWriter", "StagedObject"]


@dataclass(frozen=True, slots=True)
class StagedObject:
    """Bytes written and hashed but not yet visible under their key."""

    key: str  # sha256 of the content, hex
    size: int
    token: str  # implementation detail: where the staged bytes wait


@dataclass(frozen=True, slots=True)
class AssembledObject:
    """The parts of an upload joined in order, staged; ``md5`` (hex) of the whole content, for
    the client's own check (OpenAI's Uploads API takes one at completion)."""

    staged: StagedObject
    md5: str


class ObjectWriter(Protocol):
    """Receives an upload piece by piece, hashing as it goes."""

    @property
    def size(self) -> int:
        """Bytes written so far."""

    def write(self, data: bytes) -> None: ...

    def finish(self) -> StagedObject:
        """Close the stream; the bytes wait to be committed (or discarded)."""

    def abort(self) -> None:
        """Throw away what was written."""


class ObjectStorage(Protocol):
    """Bytes keyed by their sha256, so equal uploads are stored once.

    Committing and deleting are idempotent; callers serialise a key's commit against its
    deletion (the database does, with an advisory lock on the key).
    """

    def writer(self) -> ObjectWriter: ...

    def commit(self, staged: StagedObject) -> None:
        """Make staged bytes readable under ``staged.key`` (a no-op when already there)."""

    def discard(self, staged: StagedObject) -> None: ...

    def exists(self, key: str) -> bool: ...

    def local_path(self, key: str) -> AbstractContextManager[Path]:
        """A file on this machine holding the object, for as long as the context is open."""

    def read(self, key: str, *, chunk_size: int = 1 << 20) -> AbstractContextManager[BinaryIO]:
        """The object as a binary stream."""

    def delete(self, key: str) -> None:
        """Remove the object; missing objects are not an error."""

    def download_url(self, key: str) -> str | None:
        """A short-lived URL that serves the object to whoever holds it; None: the gateway
        streams the bytes itself."""

    # -- uploads sent in parts (``/v1/uploads``) ---------------------------------------
    @property
    def part_token_prefix(self) -> str:
        """What every token of a part this storage holds begins with: processes configured
        with other storages (on the same database) leave those parts alone."""

    def part_writer(self, upload_id: str, part_id: str) -> ObjectWriter:
        """One part of an upload; ``finish`` leaves it under its ``token`` (the part's own
        sha256 as ``key``) until the upload is assembled or its parts discarded."""

    def assemble(self, tokens: Sequence[str]) -> AssembledObject:
        """The parts (their tokens, in the file's order) as one staged object, hashed in
        order; the parts stay until ``discard_parts``."""

    def discard_parts(self, upload_id: str) -> None:
        """Remove every part of the upload (idempotent)."""
