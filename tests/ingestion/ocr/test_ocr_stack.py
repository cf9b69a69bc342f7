"""Scans through the whole stack: uploaded with the official ``openai`` SDK, ingested by a
real worker (OCR in its parse child, Tesseract as installed), found by ``vector_stores.search``;
the hits say they came from OCR and how confident it was. A blank scan fails with the reason."""

from __future__ import annotations

import secrets
import signal
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from openai import OpenAI

from configs import load_settings
from gateway.entry.app import create_app
from gateway.policy.keys import new_key
from tests.ingestion.ocr.scans import blank_scan_pdf, image_bytes, scanned_pdf
from tests.support.net import free_port
from tests.support.servers import ServerThread, start_process

CONTRACT = "The tenant shall repaint the lighthouse every seventh summer"
RECEIPT = "Paid eleven euros for blue marmalade at the harbour kiosk"


@pytest.fixture(scope="module")
def admin(
    stack_env: dict[str, str], database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OpenAI]:
    env = {
        **stack_env,
        "RAGWAY_WORKER__NAMESPACE": f"{stack_env['RAGWAY_WORKER__NAMESPACE']}-ocr",
        "RAGWAY_DATA_DIR": str(tmp_path_factory.mktemp("ocr-data")),
        "RAGWAY_INGESTION__METRICS_PORT": str(free_port()),
    }
    settings = load_settings(config_files=[], env=env)
    assert settings.redis.url is not None
    key = new_key()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO api_keys (id, key_hash, display_prefix, name, role, "
            "readable_collections) VALUES (%s, %s, %s, %s, 'admin', %s)",
            (f"key_{secrets.token_hex(6)}", key.key_hash, key.display_prefix, "ocr", ["*"]),
        )
    app = create_app(
        settings, database_url=database_url, redis_url=settings.redis.url.get_secret_value()
    )
    worker = start_process(["worker"], env)
    try:
        with ServerThread(app) as server:
            yield OpenAI(
                base_url=f"{server.base_url}/v1", api_key=key.plaintext, max_retries=0, timeout=120
            )
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)


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
