"""The parser and chunker a worker runs are the implementations their settings name."""

from __future__ import annotations

from pathlib import Path

import pytest

from configs import TokenChunkingSettings, UnstructuredParsingSettings, load_settings
from ingestion.chunking import ChunkingStrategy, TokenChunker, build_chunker
from ingestion.errors import DocumentRejectedError
from ingestion.parsing import Element, ProcessParser, UnstructuredParser, build_parser
from tests.support.documents import make_document


def test_the_default_settings_build_unstructured_in_child_processes() -> None:
    settings = load_settings(config_files=[], env={})
    parser = build_parser(settings.ingestion.parsing, log_settings=settings.logging)
    assert isinstance(parser, ProcessParser)  # its children start on first use
    parser.close()
    assert isinstance(build_chunker(settings.ingestion.chunking), TokenChunker)


def test_the_parser_gets_its_settings(tmp_path: Path) -> None:
    settings = UnstructuredParsingSettings(processes=0, max_expanded_bytes=1024)
    parser = build_parser(settings)
    assert isinstance(parser, UnstructuredParser)  # no processes: in the caller's thread
    path = tmp_path / "doc.docx"
    path.write_bytes(make_document("docx", "marker"))
    with pytest.raises(DocumentRejectedError, match=r"ingestion\.parsing\.max_expanded_bytes"):
        parser.parse(path, filename="doc.docx")


def test_the_chunker_gets_its_settings() -> None:
    chunker = build_chunker(TokenChunkingSettings(time_limit_s=1e-9))
    text = " ".join(f"Sentence {n} of a long enough text." for n in range(2000))
    with pytest.raises(DocumentRejectedError, match=r"ingestion\.chunking\.time_limit_s"):
        chunker.chunk(
            [Element(text=text, kind="NarrativeText")],
            ChunkingStrategy(max_tokens=100, overlap_tokens=20),
        )
