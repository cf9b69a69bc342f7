"""Hostile uploads end to end: odd file names, zip bombs in DOCX / PPTX, broken PDFs.

One shared ``ragway worker`` ingests them all; each bad file fails alone with a clear
``last_error`` and the worker goes on to ingest the next good file.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import openai
import pytest
from openai import OpenAI

from tests.hardening.conftest import MAX_UPLOAD_BYTES, Gateway, Keys, bearer, client
from tests.support.bombs import image_only_pdf, office_bomb
from tests.support.documents import make_document, make_pdf

BOMB_BYTES = 2 * 1024**3  # 2 GiB once inflated; about 5 MB on the wire


@pytest.fixture(scope="module")
def admin(gateway: Gateway, keys: Keys, worker: subprocess.Popen[bytes]) -> OpenAI:
    return client(gateway, keys.admin)


@pytest.fixture(scope="module")
def store(admin: OpenAI) -> str:
    return admin.vector_stores.create(name="shared-hardening").id


def upload_raw(gateway: Gateway, key: str, disposition: bytes, data: bytes) -> httpx.Response:
    """A multipart upload whose file part carries ``disposition`` byte for byte."""
    boundary = b"hardening-boundary-7c1f"
    body = (
        b"--" + boundary + b"\r\n"
        b'Content-Disposition: form-data; name="purpose"\r\n\r\nassistants\r\n'
        b"--" + boundary + b"\r\n"
        b'Content-Disposition: form-data; name="file"; ' + disposition + b"\r\n"
        b"Content-Type: text/plain\r\n\r\n" + data + b"\r\n"
        b"--" + boundary + b"--\r\n"
    )
    headers = {**bearer(key), "content-type": f"multipart/form-data; boundary={boundary.decode()}"}
    return httpx.post(f"{gateway.url}/v1/files", content=body, headers=headers, timeout=30)


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        (b'filename="../../etc/passwd"', "passwd"),
        (b'filename="..\\\\..\\\\windows\\\\win.ini"', "win.ini"),
        (b'filename="/absolute/path/notes.txt"', "notes.txt"),
        (b'filename="nul\x00byte.txt"', "nulbyte.txt"),
        (b'filename="tab\tand\x1bescape.txt"', "tabandescape.txt"),
        (b'filename=".."', "upload"),
        (b'filename="../"', "upload"),
        (b'filename=""', "upload"),
        (b'filename="..."', "upload"),
        # RFC 7578 4.2: multipart/form-data carries no filename*; unread, so the default name
        (b"filename*=UTF-8''%E6%97%A5%E6%9C%AC%20r%C3%A9sum%C3%A9.txt", "upload"),
        ('filename="Ünïcödé ✓.txt"'.encode(), "Ünïcödé ✓.txt"),
        (b'filename="' + b"a" * 5000 + b'.txt"', "a" * 255),
        (b'filename="quote\'; DROP TABLE files;--.txt"', "quote'; DROP TABLE files;--.txt"),
    ],
)
def test_file_names_are_stored_sanitized(
    gateway: Gateway, keys: Keys, admin: OpenAI, disposition: bytes, expected: str
) -> None:
    response = upload_raw(gateway, keys.admin, disposition, b"Plain words about lighthouses.\n")
    if response.status_code == 400:  # refused as malformed multipart: also safe
        assert response.json()["error"]["message"]
        return
    assert response.status_code == 200, response.text
    stored = admin.files.retrieve(response.json()["id"]).filename
    assert stored == expected
    assert "/" not in stored
    assert "\\" not in stored
    assert all(ch.isprintable() for ch in stored)
    assert len(stored) <= 255


def test_names_never_become_paths(
    gateway: Gateway, keys: Keys, admin: OpenAI, store: str, hardening_env: dict[str, str]
) -> None:
    marker = "Traversal canary: the basalt lighthouse keeper writes in green ink."
    response = upload_raw(
        gateway, keys.admin, b'filename="../../../../../tmp/evil-canary.txt"', marker.encode()
    )
    assert response.status_code == 200, response.text
    file_id = response.json()["id"]
    attached = admin.vector_stores.files.create_and_poll(
        vector_store_id=store, file_id=file_id, poll_interval_ms=200
    )
    assert attached.status == "completed", attached.last_error
    found = admin.vector_stores.search(vector_store_id=store, query=marker, max_num_results=1)
    assert found.data[0].filename == "evil-canary.txt"
    assert admin.files.content(file_id).read() == marker.encode()
    data_dir = Path(hardening_env["RAGWAY_DATA_DIR"])
    names = {path.name for path in data_dir.rglob("*")}
    assert not {n for n in names if "canary" in n or n == "passwd"}, names
    assert not Path("/tmp/evil-canary.txt").exists()


def ingest(admin: OpenAI, store: str, name: str, data: bytes) -> tuple[str, str | None, str]:
    uploaded = admin.files.create(file=(name, data), purpose="assistants")
    done = admin.vector_stores.files.create_and_poll(
        vector_store_id=store, file_id=uploaded.id, poll_interval_ms=200
    )
    error = done.last_error
    return done.status, error.code if error else None, error.message if error else ""


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("name", "kind", "member"),
    [("bomb.docx", "docx", "word/document.xml"), ("bomb.pptx", "pptx", "ppt/slides/slide1.xml")],
)
def test_zip_bombs_fail_cleanly(
    admin: OpenAI,
    store: str,
    worker: subprocess.Popen[bytes],
    name: str,
    kind: str,
    member: str,
) -> None:
    bomb = office_bomb(make_document(kind, "bomb"), member, expanded_bytes=BOMB_BYTES)
    assert len(bomb) < 8_000_000
    status, code, message = ingest(admin, store, name, bomb)
    assert (status, code) == ("failed", "invalid_file"), message
    assert "expands to" in message
    assert "max_expanded_bytes" in message
    assert worker.poll() is None, "the worker died on a zip bomb"
    good = make_document(kind, f"After the {kind} bomb the worker still ingests files.")
    assert ingest(admin, store, f"after-bomb.{kind}", good)[0] == "completed"


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("corrupt.pdf", b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R", "corrupt"),
        ("truncated.pdf", make_pdf([["Half a document."]])[:200], "corrupt"),
        ("garbage.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 40, "corrupt"),
        ("locked.pdf", make_pdf([["secret"]], encrypt_dict=True), "encrypted"),
        ("scan.pdf", image_only_pdf(), "contains no text"),
        ("not-a-zip.docx", b"PK\x03\x04 this is no zip archive", "could not be parsed as docx"),
        ("empty.pptx", b"", "not a valid pptx"),
    ],
)
def test_broken_documents_fail_with_a_clear_error(
    admin: OpenAI,
    store: str,
    worker: subprocess.Popen[bytes],
    name: str,
    data: bytes,
    words: str,
) -> None:
    status, code, message = ingest(admin, store, name, data)
    assert (status, code) == ("failed", "invalid_file"), message
    assert words in message.lower(), message
    assert name in message
    assert worker.poll() is None


def test_two_file_parts_in_one_upload_are_refused(gateway: Gateway, keys: Keys) -> None:
    """Both parts' bytes would otherwise be stored as one file under the second name."""
    body = (
        b'--x\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nassistants\r\n'
        b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nabc\r\n'
        b'--x\r\nContent-Disposition: form-data; name="file"; filename="b.txt"\r\n\r\ndef\r\n'
        b"--x--\r\n"
    )
    headers = {**bearer(keys.admin), "content-type": "multipart/form-data; boundary=x"}
    response = httpx.post(f"{gateway.url}/v1/files", content=body, headers=headers, timeout=30)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "file"


def test_an_upload_over_max_upload_bytes_is_a_413(
    gateway: Gateway, keys: Keys, admin: OpenAI
) -> None:
    before = len(admin.files.list(limit=100).data)
    with pytest.raises(openai.APIStatusError) as raised:
        admin.files.create(file=("big.txt", b"x" * (MAX_UPLOAD_BYTES + 1)), purpose="assistants")
    assert raised.value.status_code == 413
    assert isinstance(raised.value.body, dict)
    assert raised.value.body["code"] == "file_too_large"
    assert len(admin.files.list(limit=100).data) == before
