"""The collections pages in a real browser, with a real ingestion worker: create a store,
upload several files and watch them reach "completed" without a reload, search them, see a
failed file's reason and re-ingest it. Members read shared stores only, and the server
refuses their changes (raw HTTP with a valid CSRF token, as an attacker would send them)."""

from __future__ import annotations

import re
import secrets
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from openai import OpenAI
from playwright.sync_api import Page, expect

from configs import Settings
from gateway.api.console._collections_view import FileRow, FilesView, chunking_of, chunking_tag
from gateway.api.vector_stores.protocol import ChunkingStrategy, StaticChunking
from gateway.entry.app import create_app
from ingestion.collections import StoreFileRecord, VectorStoreRecord
from tests.gateway.console.conftest import (
    ConsoleKeys,
    Shot,
    api_client,
    csrf_of,
    http_session,
    sign_in,
)
from tests.support.servers import ServerThread

INGESTED = 120_000  # ms: from upload to "completed" (CPU embedder; generous for a busy machine)

DOCUMENTS = {
    "alpine.md": "# Alpine huts\n\n"
    + "The quokkafell hut sits above the glacier, where climbers rest before the ridge.\n\n"
    + "Stone walls keep the wind out; the hut keeps a logbook of every ascent.\n\n"
    + "Water comes from snow melted on a small stove in the evening.",
    "harbour.txt": "Harbour tides\n\n"
    + "Fishing boats leave the harbour at dawn when the tide turns.\n\n"
    + "The lighthouse keeper records each storm and the height of the zanderwick waves.\n\n"
    + "Nets are mended on the quay during the long afternoons. <b>Markup stays text</b>",
    "orchard.md": "# Orchard care\n\n"
    + "Apple trees are pruned in late winter, before the buds open.\n\n"
    + "The plumbottle variety needs a pollinator planted nearby to bear fruit.\n\n"
    + "Windfalls are gathered for cider at the end of the season.",
}


def _write(folder: Path, files: dict[str, str]) -> list[Path]:
    paths = []
    for name, text in files.items():
        path = folder / name
        path.write_text(text)
        paths.append(path)
    return paths


def _store_with_file(client: OpenAI, name: str, folder: Path) -> str:
    """A store holding one ingested file (through the API), for the member's tests."""
    store = client.vector_stores.create(name=name)
    path = _write(folder, {f"{name}.md": DOCUMENTS["orchard.md"]})[0]
    with path.open("rb") as handle:
        uploaded = client.files.create(file=handle, purpose="assistants")
    done = client.vector_stores.files.create_and_poll(
        vector_store_id=store.id, file_id=uploaded.id, poll_interval_ms=200
    )
    assert done.status == "completed", done.last_error
    return store.id


def test_admin_creates_uploads_watches_and_searches(
    page: Page,
    console_keys: ConsoleKeys,
    console_worker: subprocess.Popen[bytes],
    shot: Shot,
    tmp_path: Path,
) -> None:
    name = f"docs-{secrets.token_hex(3)}"
    sign_in(page, console_keys.admin, path="/console/collections")
    expect(page.get_by_role("heading", name="Collections", exact=True)).to_be_visible()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Description").fill("Field notes for the console test")
    page.get_by_label("Strategy").select_option("static")
    page.get_by_label("Max chunk size (tokens)").fill("200")
    page.get_by_label("Chunk overlap (tokens)").fill("50")
    # The gateway's first store loads the embedding model (slow on a busy CPU).
    page.get_by_role("button", name="Create collection").click(timeout=INGESTED)
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    expect(page).to_have_url(re.compile(r"/console/collections/vs_\w+$"))
    expect(page.get_by_text("static: 200 tokens, 50 overlap")).to_be_visible()
    page.evaluate("window.__notReloaded = true")

    page.get_by_label("Choose files").set_input_files(_write(tmp_path, DOCUMENTS))
    uploads = page.get_by_role("list", name="Uploads").get_by_role("listitem")
    expect(uploads).to_have_count(3)
    for filename in DOCUMENTS:
        expect(page.get_by_label(f"Upload of {filename}")).to_have_js_property("value", 100)
    expect(page.get_by_label("All uploads")).to_have_js_property("value", 100)
    expect(uploads.filter(has_text="uploaded as file-")).to_have_count(3)
    shot(page, "collection-upload")

    files = page.locator("#files")
    for filename in DOCUMENTS:
        row = files.get_by_role("row").filter(has_text=filename)
        expect(row).to_contain_text("completed", timeout=INGESTED)
        expect(row).to_contain_text(re.compile(r"[1-9]\d* chunks?"))
    expect(files).to_have_attribute("data-busy", "false")  # polling has stopped
    assert page.evaluate("window.__notReloaded") is True
    shot(page, "collection-files")

    page.get_by_role("link", name="Collections", exact=True).click()
    row = page.get_by_role("row").filter(has_text=name)
    expect(row).to_contain_text("3 completed")
    expect(row).to_contain_text("Field notes for the console test")
    shot(page, "collections")

    row.get_by_role("link", name=name).click()
    page.get_by_role("link", name="Search this collection").click()
    page.get_by_label("Query", exact=True).fill("zanderwick")
    page.get_by_role("button", name="Search").click()
    results = page.locator("#results tbody tr")
    expect(results.first).to_be_visible()
    first = results.first.get_by_role("cell")
    expect(first.nth(0)).to_have_text("1")
    expect(first.nth(1)).to_have_text(re.compile(r"^0?\.\d{3}$|^1\.000$"))
    expect(first.nth(2)).to_contain_text("harbour.txt")
    expect(first.nth(3)).not_to_be_empty()
    expect(first.nth(4)).to_contain_text("zanderwick")
    expect(first.nth(4)).to_contain_text("<b>Markup stays text</b>")  # escaped, not bold
    shot(page, "collection-search")


def test_a_failed_file_shows_why_and_can_be_re_ingested(
    page: Page,
    console_url: str,
    console_keys: ConsoleKeys,
    console_worker: subprocess.Popen[bytes],
    tmp_path: Path,
) -> None:
    store = api_client(console_url, console_keys.admin.secret).vector_stores.create(
        name=f"broken-{secrets.token_hex(3)}"
    )
    sign_in(page, console_keys.admin, path=f"/console/collections/{store.id}")
    page.get_by_label("Choose files").set_input_files(_write(tmp_path, {"empty.txt": ""}))
    row = page.locator("#files").get_by_role("row").filter(has_text="empty.txt")
    expect(row).to_contain_text("failed", timeout=INGESTED)
    expect(row).to_contain_text("contains no text")

    with page.expect_response(re.compile(r"/reingest$")) as answer:
        row.get_by_role("button", name="Re-ingest").click()
    requeued = answer.value
    assert requeued.status == 200
    assert re.search(r">\s*queued\s*<", requeued.text()), requeued.text()
    # Queued again: the table polls until the worker has settled it (failed once more).
    expect(row).to_contain_text("failed", timeout=INGESTED)
    expect(page.locator("#files")).to_have_attribute("data-busy", "false")

    page.on("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Remove").click()
    expect(page.get_by_text("No files in this collection yet.")).to_be_visible()

    page.get_by_role("link", name="All collections").click()
    listed = page.get_by_role("row").filter(has_text=store.id)
    listed.get_by_role("button", name=re.compile("^Delete")).click()
    expect(listed).to_have_count(0)
    page.reload()
    expect(page.get_by_role("row").filter(has_text=store.id)).to_have_count(0)


def test_an_upload_over_the_limit_is_refused_per_file(
    page: Page,
    console_settings: Settings,
    console_env: dict[str, str],
    database_url: str,
    console_keys: ConsoleKeys,
    tmp_path: Path,
) -> None:
    """``ingestion.max_upload_bytes`` holds for console uploads: that file fails with the
    reason, the others of the batch go in."""
    ingestion = console_settings.ingestion.model_copy(update={"max_upload_bytes": 4096})
    app = create_app(
        console_settings.model_copy(update={"ingestion": ingestion}),
        database_url=database_url,
        redis_url=console_env["REDIS_URL"],
        env=console_env,
    )
    with ServerThread(app) as server:
        store = api_client(server.base_url, console_keys.admin.secret).vector_stores.create(
            name=f"limits-{secrets.token_hex(3)}"
        )
        sign_in(page, console_keys.admin, path=f"{server.base_url}/console/collections/{store.id}")
        files = _write(tmp_path, {"big.txt": "x" * 20_000, "small.txt": "a few words"})
        page.get_by_label("Choose files").set_input_files(files)
        uploads = page.get_by_role("list", name="Uploads").get_by_role("listitem")
        expect(uploads.filter(has_text="big.txt")).to_contain_text(
            "larger than 4096 bytes (ingestion.max_upload_bytes)"
        )
        expect(uploads.filter(has_text="small.txt")).to_contain_text("uploaded as file-")
        expect(page.locator("#files")).to_contain_text("small.txt")
        expect(page.locator("#files")).not_to_contain_text("big.txt")


def test_members_read_shared_stores_only_and_change_nothing(
    page: Page,
    console_url: str,
    console_keys: ConsoleKeys,
    console_worker: subprocess.Popen[bytes],
    tmp_path: Path,
) -> None:
    tag = secrets.token_hex(3)
    admin = api_client(console_url, console_keys.admin.secret)
    shared = _store_with_file(admin, f"shared-{tag}", tmp_path)
    hidden = admin.vector_stores.create(name=f"private-{tag}").id

    sign_in(page, console_keys.member, path="/console/collections")
    stores = page.locator("#stores")
    expect(stores).to_contain_text(f"shared-{tag}")
    expect(stores).not_to_contain_text(f"private-{tag}")
    expect(page.get_by_role("heading", name="Create a collection")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("^Delete"))).to_have_count(0)

    page.get_by_role("link", name=f"shared-{tag}").click()
    expect(page.locator("#files")).to_contain_text("completed")
    expect(page.get_by_role("heading", name="Upload files")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("^(Remove|Re-ingest)"))).to_have_count(0)
    page.get_by_role("link", name="Search this collection").click()
    page.get_by_label("Query", exact=True).fill("plumbottle pollinator")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results tbody tr").first).to_contain_text(f"shared-{tag}.md")

    client = http_session(console_url, console_keys.member.secret)
    headers = {"x-csrf-token": csrf_of(client)}
    file_id = admin.vector_stores.files.list(vector_store_id=shared).data[0].id
    refused = [
        client.post("/console/collections/", data={"name": "mine"}, headers=headers),
        client.post(f"/console/collections/{shared}/delete", headers=headers),
        client.post(
            f"/console/collections/{shared}/files",
            files={"file": ("x.txt", b"hello")},
            data={"purpose": "assistants"},
            headers=headers,
        ),
        client.post(f"/console/collections/{shared}/files/{file_id}/reingest", headers=headers),
        client.post(f"/console/collections/{shared}/files/{file_id}/remove", headers=headers),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused), [r.text for r in refused]
    assert admin.vector_stores.retrieve(shared).file_counts.completed == 1
    for path in ("", "/files", "/search?q=apple"):
        unreadable = client.get(f"/console/collections/{hidden}{path}")
        assert unreadable.status_code == 404, path
        assert f"private-{tag}" not in unreadable.text


def test_bad_search_input_is_explained_not_a_server_error(
    page: Page, console_url: str, console_keys: ConsoleKeys
) -> None:
    store = api_client(console_url, console_keys.admin.secret).vector_stores.create(
        name=f"filters-{secrets.token_hex(3)}"
    )
    sign_in(page, console_keys.admin, path=f"/console/collections/{store.id}/search")
    page.get_by_label("Query", exact=True).fill("anything")
    page.get_by_label("Attribute filters (JSON)").fill('{"type": "eq", "key": ')
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("alert").filter(has_text="not valid JSON")).to_be_visible()
    expect(page.get_by_label("Attribute filters (JSON)")).to_have_value('{"type": "eq", "key": ')

    client = http_session(console_url, console_keys.admin.secret)
    for filters in ('{"type": "almost", "key": "a", "value": 1}', "[1, 2]", "{bad"):
        answer = client.get(
            f"/console/collections/{store.id}/search", params={"q": "x", "filters": filters}
        )
        assert answer.status_code == 400, (filters, answer.text)
        assert "data-error" in answer.text
    too_many = client.get(
        f"/console/collections/{store.id}/search", params={"q": "x", "max_num_results": "500"}
    )
    assert too_many.status_code == 400
    assert "max_num_results" in too_many.text


def test_the_create_form_is_checked_by_the_api_model(
    console_url: str, console_keys: ConsoleKeys
) -> None:
    client = http_session(console_url, console_keys.admin.secret)
    headers = {"x-csrf-token": csrf_of(client)}
    form = {
        "name": "overlapping",
        "chunking": "static",
        "max_chunk_size_tokens": "200",
        "chunk_overlap_tokens": "150",
    }
    refused = client.post("/console/collections/", data=form, headers=headers)
    assert refused.status_code == 400
    assert "chunk_overlap_tokens" in refused.text
    assert (
        client.post("/console/collections/", data={"name": " "}, headers=headers).status_code == 400
    )


def _record(status: str, *, total: int | None = None, done: int = 0) -> StoreFileRecord:
    return StoreFileRecord(
        vector_store_id="vs_x",
        file_id="file-x",
        batch_id=None,
        status=status,  # type: ignore[arg-type]
        last_error_code="invalid_file" if status == "failed" else None,
        last_error_message="'x.pdf' is corrupt" if status == "failed" else None,
        attributes={},
        chunking_type="auto",
        max_chunk_size_tokens=800,
        chunk_overlap_tokens=400,
        duplicate_of=None,
        chunks_total=total,
        chunks_done=done,
        usage_bytes=0,
        created_at=datetime.now(UTC),
        sha256="0" * 64,
    )


def test_file_rows_say_where_each_file_is() -> None:
    """The words the files table shows (the browser tests see the settled ones)."""
    rows = [
        FileRow(_record("in_progress"), "a.md", 10),
        FileRow(_record("in_progress", total=10, done=3), "b.md", 10),
        FileRow(_record("completed", total=1, done=1), "c.md", 10),
        FileRow(_record("failed"), "d.pdf", 10),
    ]
    assert [(r.label, r.progress) for r in rows] == [
        ("queued", ""),
        ("in progress", "3/10 chunks"),
        ("completed", "1 chunk"),
        ("failed", "'x.pdf' is corrupt"),
    ]
    assert FilesView(rows, more=False).busy
    assert not FilesView(rows[2:], more=False).busy
    assert FilesView(rows, more=False).summary == [
        ("queued", 1, "badge-muted"),
        ("in progress", 1, "badge-info"),
        ("completed", 1, "badge-ok"),
        ("failed", 1, "badge-bad"),
    ]


def test_a_store_keeps_its_chunking_in_metadata() -> None:
    static = ChunkingStrategy(
        type="static", static=StaticChunking(max_chunk_size_tokens=300, chunk_overlap_tokens=100)
    )
    assert chunking_tag(static) == "static:300:100"
    assert chunking_tag(ChunkingStrategy(type="auto")) == "auto"

    def store(tag: str) -> VectorStoreRecord:
        now = datetime.now(UTC)
        return VectorStoreRecord(
            id="vs_x",
            owner_key_id=None,
            name="x",
            metadata={"chunking": tag},
            embedding_model="m",
            embedding_dimension=3,
            expires_after=None,
            created_at=now,
            last_active_at=now,
        )

    assert chunking_of(store("static:300:100")) == static
    for unusable in ("auto", "static:50:10", "static:300:200", "static:x:y", ""):
        assert chunking_of(store(unusable)) is None, unusable
