"""Zip containers (DOCX, PPTX) checked before a parser inflates them: no zip bombs."""

from __future__ import annotations

import zipfile
from pathlib import Path

from ingestion.errors import DocumentRejectedError

__all__ = ["check_zip_expansion"]


def check_zip_expansion(path: Path, filename: str, kind: str, *, max_expanded_bytes: int) -> None:
    """Reject a container whose members would inflate past ``max_expanded_bytes`` in all.

    The sizes are the ones the archive declares; that is enough because :mod:`zipfile`
    (which python-docx and python-pptx read through) never yields more than a member's
    declared size: a member that inflates further fails its CRC check instead.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise DocumentRejectedError(
            "invalid_file", f"{filename!r} could not be parsed as {kind}: not a zip archive ({exc})"
        ) from exc
    expanded = sum(member.file_size for member in members)
    if expanded > max_expanded_bytes:
        raise DocumentRejectedError(
            "invalid_file",
            f"{filename!r} expands to {expanded} bytes when unzipped; the limit is "
            f"{max_expanded_bytes} (ingestion.parsing.max_expanded_bytes)",
        )
