"""Scans through the whole stack: uploaded with the official ``openai`` SDK, ingested by a
real worker (OCR in its parse child, Tesseract as installed), found by ``vector_stores.search``;
the hits say they came from OCR and how confident it was. A blank scan fails with the reason."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from openai import OpenAI

from tests.ingestion.ocr.scans import blank_scan_pdf, image_bytes, scanned_pdf
from tests.support.worker_stack import worker_stack

CONTRACT = "The tenant shall repaint the lighthouse every seventh summer"
RECEIPT = "Paid eleven euros for blue marmalade at the harbour kiosk"


@pytest.fixture(scope="module")
def admin(
    stack_env: dict[str, str], database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OpenAI]:
    data = tmp_path_factory.mktemp("ocr-data")
    with worker_stack(stack_env, database_url, data, "ocr", timeout_s=120) as stack:
        yield stack.admin


def ingest(admin: OpenAI, store: str, name: str, data: bytes) -> tuple[str, str, str]:
    uploaded = admin.files.create(file=(name, data), purpose="assistants")
    done = admin.vector_stores.files.create_and_poll(
        vector_store_id=store, file_id=uploaded.id, poll_interval_ms=200
    )
    error = done.last_error
    return done.status, error.code if error else "", error.message if error else ""


def best_hit(admin: OpenAI, store: str, query: str) -> dict[str, Any]:
    page = admin.vector_stores.search(vector_store_id=store, query=query, max_num_results=3)
    assert page.data, f"nothing found for {query!r}"
    return page.data[0].model_dump()


def test_a_scanned_pdf_and_an_image_are_found_by_a_sentence_they_hold(admin: OpenAI) -> None:
    store = admin.vector_stores.create(name=f"ocr-{secrets.token_hex(3)}").id
    scan = scanned_pdf([["Lease of the North Point light"], [CONTRACT]])
    assert ingest(admin, store, "lease-scan.pdf", scan)[0] == "completed"
    assert ingest(admin, store, "receipt.png", image_bytes([RECEIPT], "PNG"))[0] == "completed"

    contract = best_hit(admin, store, "who repaints the lighthouse every seventh summer?")
    assert contract["filename"] == "lease-scan.pdf"
    assert CONTRACT in contract["content"][0]["text"]
    assert contract["ragway"]["page_number"] == 2
    assert contract["ragway"]["ocr"] is True
    assert 60 <= contract["ragway"]["ocr_confidence"] <= 100

    receipt = best_hit(admin, store, "blue marmalade at the harbour kiosk")
    assert receipt["filename"] == "receipt.png"
    assert RECEIPT in receipt["content"][0]["text"]
    assert receipt["ragway"]["ocr"] is True


def test_a_blank_scan_fails_saying_ocr_found_no_text(admin: OpenAI) -> None:
    store = admin.vector_stores.create(name=f"ocr-blank-{secrets.token_hex(3)}").id
    status, code, message = ingest(admin, store, "blank-scan.pdf", blank_scan_pdf())
    assert (status, code) == ("failed", "invalid_file"), message
    assert message == (
        "'blank-scan.pdf' contains no text: no text layer, and OCR found none on its scanned pages"
    )
