"""The ingestion package's exception tree; callers translate these at their boundary."""

from __future__ import annotations

from typing import Literal

__all__ = [
    "DatabaseUnavailableError",
    "DocumentRejectedError",
    "EmbeddingMismatchError",
    "IngestionError",
    "InvalidFilterError",
    "MigrationError",
    "RecordNotFoundError",
    "StorageError",
    "StorageUnavailableError",
    "WorkCancelledError",
]

RejectionCode = Literal[
    "unsupported_file", "invalid_file", "embedding_model_mismatch", "server_error"
]


class IngestionError(Exception):
    """Base of every error raised by the ingestion package."""


class DatabaseUnavailableError(IngestionError):
    """Postgres could not be reached (or did not answer) in time."""


class MigrationError(IngestionError):
    """The schema cannot be brought to this release's version."""


class DocumentRejectedError(IngestionError):
    """The document itself cannot be ingested; retrying cannot help, so the file fails for good.

    ``code`` is OpenAI's ``last_error.code``: ``unsupported_file`` for types ragway does not
    read, ``invalid_file`` for corrupt, encrypted, empty, too large or too long documents,
    ``embedding_model_mismatch`` when the store's vectors come from another embedder,
    ``server_error`` when this worker lacks what the document needs (OCR not installed).
    """

    def __init__(self, code: RejectionCode, message: str) -> None:
        super().__init__(message)
        self.code: RejectionCode = code
        self.message = message

    def __reduce__(self) -> tuple[type[DocumentRejectedError], tuple[RejectionCode, str]]:
        # Raised in a parsing child process and re-raised in the worker (pickled).
        return (type(self), (self.code, self.message))


class WorkCancelledError(IngestionError):
    """The file was deleted or cancelled while a stage worked on it: the work is dropped."""


class EmbeddingMismatchError(IngestionError):
    """A store was embedded with another model or dimension than the configured embedder."""


class StorageError(IngestionError):
    """Object storage could not store, find or delete bytes."""


class StorageUnavailableError(StorageError):
    """Object storage could not be reached, or answered that it is busy or failing (a network
    error, a timeout, a 5xx after its retries): trying again later may work."""


class RecordNotFoundError(IngestionError):
    """A file, vector store, batch or file-in-store that does not exist (or is not visible)."""


class InvalidFilterError(IngestionError):
    """A search filter that is not a valid OpenAI comparison or compound filter."""
