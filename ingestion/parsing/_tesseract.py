"""Tesseract, the OCR engine: one image in, its paragraphs with their word confidences out.

The ``tesseract`` binary (Debian's ``tesseract-ocr``) is run once per image with the image on
stdin and TSV on stdout: one row per word with its box and confidence (0-100), grouped by
Tesseract's own layout analysis into blocks, paragraphs and lines, in reading order. No
Python binding is needed, and a page that takes too long is a process to kill.

OpenMP is held to one thread (``OMP_THREAD_LIMIT``): Tesseract's threads gain little on a
page and compete with the embedder for the same cores.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingestion.errors import DocumentRejectedError

if TYPE_CHECKING:
    from PIL.Image import Image

__all__ = ["OcrBlock", "OcrPage", "Tesseract"]

_PACKAGE = "tesseract-ocr"
_WORD_LEVEL = "5"
_COLUMNS = 12  # level page block par line word left top width height conf text


@dataclass(frozen=True, slots=True)
class OcrBlock:
    """One paragraph as Tesseract found it: its lines, box (pixels, origin top left) and the
    mean confidence of its words (0-100)."""

    text: str
    box: tuple[int, int, int, int]  # left, top, right, bottom
    confidence: float
    words: int


@dataclass(frozen=True, slots=True)
class OcrPage:
    """An image's paragraphs in reading order, and its size in pixels."""

    blocks: list[OcrBlock]
    width: int
    height: int


class Tesseract:
    """Runs ``tesseract`` in ``languages`` (installed ones only; checked on first use)."""

    def __init__(
        self,
        *,
        languages: tuple[str, ...] = ("eng",),
        dpi: int = 300,
        page_time_limit_s: float = 60.0,
        binary: str = "tesseract",
    ) -> None:
        self._languages = languages
        self._dpi = dpi
        self._page_time_limit_s = page_time_limit_s
        self._binary = binary
        self._path: str | None = None

    @property
    def dpi(self) -> int:
        return self._dpi

    def check(self) -> str:
        """The binary's path, once Tesseract and every configured language are found installed;
        otherwise a ``server_error`` rejection naming the Debian packages to install (the file
        can be re-ingested once they are)."""
        if self._path is not None:
            return self._path
        path = shutil.which(self._binary)
        if path is None:
            raise DocumentRejectedError(
                "server_error",
                f"Tesseract is not installed on this worker: install Debian's "
                f"{' '.join(self.missing_packages())} "
                "(or turn OCR off: ingestion.parsing.ocr.enabled)",
            )
        installed = _installed_languages(path)
        missing = [code for code in self._languages if code not in installed]
        if missing:
            raise DocumentRejectedError(
                "server_error",
                f"Tesseract's language data for {', '.join(missing)} is not installed on this "
                f"worker: install Debian's {' '.join(_language_package(c) for c in missing)} "
                "(ingestion.parsing.ocr.languages)",
            )
        self._path = path
        return path

    def missing_packages(self) -> list[str]:
        """The Debian packages this host lacks for OCR in the configured languages: Tesseract
        itself and each language's data; empty when it is ready."""
        path = shutil.which(self._binary)
        if path is None:
            return [_PACKAGE, *(_language_package(c) for c in self._languages)]
        installed = _installed_languages(path)
        return [_language_package(c) for c in self._languages if c not in installed]

    def read(self, image: Image, *, what: str) -> OcrPage:
        """The paragraphs of ``image``; ``what`` names it in errors ("'scan.pdf' page 3")."""
        try:
            path = self.check()
        except DocumentRejectedError as exc:
            raise DocumentRejectedError(exc.code, f"{what} needs OCR: {exc.message}") from None
        data = _pnm(image)
        command = [
            path,
            "-",
            "-",
            "-l",
            "+".join(self._languages),
            "--dpi",
            str(self._dpi),
            "tsv",
        ]
        limit = self._page_time_limit_s
        # A parse child killed for its file's time limit leaves Tesseract behind: `timeout`
        # ends it at the page limit all the same.
        killer = shutil.which("timeout")
        if killer is not None:
            command = [killer, "-s", "KILL", f"{limit + 5:g}", *command]
        env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
        try:
            done = subprocess.run(
                command, input=data, capture_output=True, timeout=limit, env=env, check=False
            )
        except subprocess.TimeoutExpired:
            raise DocumentRejectedError(
                "invalid_file",
                f"{what}: OCR took longer than {limit:g} s "
                "(ingestion.parsing.ocr.page_time_limit_s)",
            ) from None
        if done.returncode != 0:
            detail = done.stderr.decode(errors="replace").strip().splitlines()
            raise DocumentRejectedError(
                "invalid_file",
                f"{what}: Tesseract could not read it (exit {done.returncode}"
                f"{': ' + detail[-1][:200] if detail else ''})",
            )
        return OcrPage(_blocks(done.stdout.decode()), image.width, image.height)


def _pnm(image: Image) -> bytes:
    """The image as PGM / PBM (no compression to spend time on; Leptonica reads it)."""
    if image.mode not in ("1", "L"):
        image = image.convert("L")
    buffer = io.BytesIO()
    image.save(buffer, format="PPM")
    return buffer.getvalue()


def _blocks(tsv: str) -> list[OcrBlock]:
    """Tesseract's word rows grouped into paragraphs (lines kept), in its reading order."""
    paragraphs: dict[tuple[str, str, str], list[list[str]]] = {}
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) != _COLUMNS or cells[0] != _WORD_LEVEL or not cells[11].strip():
            continue
        key = (cells[1], cells[2], cells[3])
        paragraphs.setdefault(key, []).append(cells)
    blocks: list[OcrBlock] = []
    for words in paragraphs.values():
        if not any(char.isalnum() for cells in words for char in cells[11]):
            continue  # specks read as punctuation
        lines: dict[str, list[str]] = {}
        for cells in words:
            lines.setdefault(cells[4], []).append(cells[11].strip())
        left = min(int(c[6]) for c in words)
        top = min(int(c[7]) for c in words)
        right = max(int(c[6]) + int(c[8]) for c in words)
        bottom = max(int(c[7]) + int(c[9]) for c in words)
        confidences = [max(0.0, float(c[10])) for c in words]
        blocks.append(
            OcrBlock(
                text="\n".join(" ".join(line) for line in lines.values()),
                box=(left, top, right, bottom),
                confidence=sum(confidences) / len(confidences),
                words=len(words),
            )
        )
    return blocks


def _installed_languages(path: str) -> set[str]:
    listed = subprocess.run(
        [path, "--list-langs"], capture_output=True, text=True, timeout=30, check=False
    )
    return {
        line.strip()
        for line in (listed.stdout + listed.stderr).splitlines()
        if line.strip() and not line.startswith("List of")
    }


def _language_package(code: str) -> str:
    return f"tesseract-ocr-{code.lower().replace('_', '-')}"
