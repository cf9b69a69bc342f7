"""The rejections every PDF reader gives alike, whichever engine found the problem."""

from __future__ import annotations

from ingestion.errors import DocumentRejectedError

__all__ = ["corrupt_pdf", "encrypted_pdf", "too_many_pages"]


def too_many_pages(filename: str, pages: int, limit: int) -> DocumentRejectedError:
    return DocumentRejectedError(
        "invalid_file", f"{filename!r} has {pages} pages; the limit is {limit}"
    )


def encrypted_pdf(filename: str) -> DocumentRejectedError:
    return DocumentRejectedError(
        "invalid_file", f"{filename!r} is encrypted; upload it without a password"
    )


def corrupt_pdf(filename: str, detail: str) -> DocumentRejectedError:
    return DocumentRejectedError("invalid_file", f"{filename!r} is a corrupt PDF: {detail}")
