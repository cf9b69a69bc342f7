"""Hostile uploads through a whole stack (gateway, Postgres, Redis, a real worker process):
a small DOCX that inflates to 200 MB (under max_expanded_bytes) is stopped by the parsing
limits without holding up a normal file, and deleting its store kills its parse at once.

The worker here runs with small limits (5 s, 1 GiB) so each case takes seconds.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from openai import OpenAI

from tests.support.bombs import office_bomb
from tests.support.documents import make_document
from tests.support.net import wait_until
from tests.support.worker_stack import WorkerStack, worker_stack

TIME_LIMIT_S = 5
MEMORY_LIMIT = 1024**3
STOPPED = (
    f"parsing took longer than {TIME_LIMIT_S} s",
    "parsing needed more than 1 GiB",
)


@pytest.fixture(scope="module")
def stack(
    stack_env: dict[str, str], database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerStack]:
    with worker_stack(
        stack_env,
        database_url,
        tmp_path_factory.mktemp("hostile-data"),
        "hostile",
        RAGWAY_WORKER__THREADS="3",
        RAGWAY_INGESTION__PARSING__PROCESSES="2",
        RAGWAY_INGESTION__PARSING__TIME_LIMIT_S=str(TIME_LIMIT_S),
        RAGWAY_INGESTION__PARSING__MEMORY_LIMIT_BYTES=str(MEMORY_LIMIT),
        RAGWAY_INGESTION__MIN_BACKOFF_S="0.2",
    ) as stack:
        # The embedder loads on the first file: done here, not in a timed case.
        warm = stack.admin.vector_stores.create(name="hostile-warm-up").id
        assert ingest(stack.admin, warm, "warm.txt", b"Warm-up words.")[0] == "completed"
        yield stack


def bomb() -> bytes:
    """1.2 MB on the wire, 200 MB of document.xml: lxml takes minutes and GBs to read it."""
    data = office_bomb(make_document("docx", "x"), "word/document.xml", expanded_bytes=200_000_000)
    assert len(data) < 1_500_000
    return data


def ingest(admin: OpenAI, store: str, name: str, data: bytes) -> tuple[str, str]:
    uploaded = admin.files.create(file=(name, data), purpose="assistants")
    done = admin.vector_stores.files.create_and_poll(
        vector_store_id=store, file_id=uploaded.id, poll_interval_ms=100
    )
    return done.status, done.last_error.message if done.last_error else ""


def attach(admin: OpenAI, store: str, name: str, data: bytes) -> str:
    file_id = admin.files.create(file=(name, data), purpose="assistants").id
    admin.vector_stores.files.create(vector_store_id=store, file_id=file_id)
    return file_id


def parsing_children(worker: int) -> list[int]:
    """The worker's spawned children (the parsing processes), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # not a process, or gone
        if int(stat.rsplit(")", 1)[1].split()[1]) == worker and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


def cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def cpu_use(children: list[int]) -> dict[int, int]:
    """Each child's CPU ticks over the next 0.3 s."""
    before = {pid: cpu_ticks(pid) for pid in children}
    time.sleep(0.3)
    return {pid: cpu_ticks(pid) - ticks for pid, ticks in before.items()}


def all_idle(worker: int, processes: int = 2) -> bool:
    """Every parsing child started and waiting (a replaced one imports for seconds)."""
    children = parsing_children(worker)
    return len(children) == processes and max(cpu_use(children).values()) <= 1


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_docx_bomb_under_the_expansion_cap_fails_alone_and_promptly(stack: WorkerStack) -> None:
    admin = stack.admin
    store = admin.vector_stores.create(name="hostile-bomb").id
    started = time.monotonic()
    hostile = attach(admin, store, "report.docx", bomb())
    normal = attach(admin, store, "normal.txt", b"The basalt lighthouse keeper writes in green.")
    normal_done = admin.vector_stores.files.poll(
        normal, vector_store_id=store, poll_interval_ms=100
    )
    assert normal_done.status == "completed", normal_done.last_error
    assert admin.vector_stores.files.retrieve(hostile, vector_store_id=store).status == (
        "in_progress"
    ), "the normal file waited for the hostile one"
    failed = admin.vector_stores.files.poll(hostile, vector_store_id=store, poll_interval_ms=100)
    elapsed = time.monotonic() - started
    assert failed.status == "failed"
    assert failed.last_error is not None
    assert failed.last_error.code == "invalid_file"
    assert any(reason in failed.last_error.message for reason in STOPPED), failed.last_error
    assert "report.docx" in failed.last_error.message
    assert elapsed < TIME_LIMIT_S + 8, f"the bomb held a parsing process {elapsed:.1f} s"
    assert alive(stack.worker)


def test_deleting_the_store_kills_its_parse_within_seconds(stack: WorkerStack) -> None:
    admin = stack.admin
    store = admin.vector_stores.create(name="hostile-deleted").id
    wait_until(lambda: all_idle(stack.worker), timeout_s=90, interval_s=0.1)
    file_id = attach(admin, store, "report.docx", bomb())

    def claimed() -> bool:
        with psycopg.connect(stack.database_url) as conn:
            row = conn.execute(
                "SELECT attempts FROM vector_store_files WHERE file_id = %s", (file_id,)
            ).fetchone()
        return row is not None and row[0] >= 1

    wait_until(claimed, timeout_s=10, interval_s=0.05)
    claimed_at = time.monotonic()
    use = cpu_use(parsing_children(stack.worker))
    busy = max(use, key=lambda pid: use[pid])  # deep in lxml by now
    admin.vector_stores.delete(store)
    deleted_at = time.monotonic()
    wait_until(lambda: not alive(busy), timeout_s=10, interval_s=0.05)
    killed_at = time.monotonic()
    assert killed_at - deleted_at < 2.5, f"killed {killed_at - deleted_at:.1f} s after delete"
    assert killed_at - claimed_at < TIME_LIMIT_S - 0.5, "the time limit, not the delete"
    with psycopg.connect(stack.database_url) as conn:
        chunks = conn.execute("SELECT count(*) FROM chunks WHERE file_id = %s", (file_id,))
        assert chunks.fetchone() == (0,)
    after = admin.vector_stores.create(name="hostile-after").id
    assert ingest(admin, after, "after.txt", b"Still ingesting after a delete.")[0] == "completed"
