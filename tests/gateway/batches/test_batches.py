"""``/v1/batches`` with the official ``openai`` SDK, run by a real ``ragway worker``.

A batch's lines run through the gateway's policy on the worker (allowances, the ledger per
line); the output and error files hold each line once, in OpenAI's line shape; counts are
right; a worker SIGKILLed mid-batch changes neither; cancel, list, retrieve and the errors
of a bad input file behave as OpenAI's do.
"""

from __future__ import annotations

import time
from typing import Any

import openai
import psycopg
import pytest
from openai import OpenAI
from openai.types import Batch

from tests.gateway.batches.conftest import BatchStack, chat_line, jsonl, read_jsonl
from tests.support.fake_openai import FakeOpenAI
from tests.support.net import wait_until
from tests.support.webhook_receiver import WebhookReceiver

TERMINAL = {"completed", "failed", "expired", "cancelled"}


def wait_for(client: OpenAI, batch_id: str, timeout_s: float = 120) -> Batch:
    deadline = time.monotonic() + timeout_s
    while True:
        batch = client.batches.retrieve(batch_id)
        if batch.status in TERMINAL or time.monotonic() > deadline:
            return batch
        time.sleep(0.2)


def upload(client: OpenAI, data: bytes) -> str:
    return client.files.create(file=("requests.jsonl", data), purpose="batch").id


def ledger_rows_of(stack: BatchStack, batch_id: str) -> int:
    """The ledger's rows for a batch's lines (their request ids are ``<batch id>-<line>``)."""
    with psycopg.connect(stack.database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM usage_events WHERE request_id LIKE %s", (f"{batch_id}-%",)
        )
        found = row.fetchone()
    return int(found[0]) if found else 0


def ledger_rows(stack: BatchStack, key_id: str) -> int:
    with psycopg.connect(stack.database_url) as conn:
        row = conn.execute("SELECT count(*) FROM usage_events WHERE key_id = %s", (key_id,))
        found = row.fetchone()
    return int(found[0]) if found else 0


def test_a_member_batches_chat_lines_and_reads_its_output_and_errors(
    batch_stack: BatchStack,
) -> None:
    member = batch_stack.client(batch_stack.member_key)
    lines = [chat_line(f"req-{n}", f"question {n}") for n in range(40)]
    lines += [chat_line(f"bad-{n}", f"refused {n}", model="broken") for n in range(5)]
    before = ledger_rows(batch_stack, batch_stack.member_id)

    batch = member.batches.create(
        input_file_id=upload(member, jsonl(lines)),
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"purpose": "nightly"},
    )
    assert batch.status in ("validating", "in_progress")
    assert batch.metadata == {"purpose": "nightly"}
    done = wait_for(member, batch.id)

    assert done.status == "completed", done
    assert done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.completed) == (45, 40)
    assert done.request_counts.failed == 5
    assert done.completed_at is not None
    assert done.in_progress_at is not None
    output = read_jsonl(member, done.output_file_id)
    assert [line["custom_id"] for line in output] == [f"req-{n}" for n in range(40)]
    first = output[0]["response"]
    assert isinstance(first, dict)
    assert first["status_code"] == 200
    assert "question 0" in first["body"]["choices"][0]["message"]["content"]
    errors = read_jsonl(member, done.error_file_id)
    assert sorted(str(line["custom_id"]) for line in errors) == [f"bad-{n}" for n in range(5)]
    assert all(isinstance(e["error"], dict) for e in errors)
    assert member.files.retrieve(done.output_file_id or "").purpose == "batch_output"
    # Each line went through the policy: a ledger row per line that reached a model (the
    # worker's ledger writes in batches, a moment later).
    wait_until(lambda: ledger_rows(batch_stack, batch_stack.member_id) - before >= 40, timeout_s=15)


def test_embeddings_lines_answer_vectors(batch_stack: BatchStack) -> None:
    admin = batch_stack.client()
    lines: list[dict[str, object]] = [
        {
            "custom_id": f"e{n}",
            "method": "POST",
            "url": "/v1/embeddings",
            "body": {"model": "embed", "input": f"text {n}"},
        }
        for n in range(10)
    ]
    batch = admin.batches.create(
        input_file_id=upload(admin, jsonl(lines)),
        endpoint="/v1/embeddings",
        completion_window="24h",
    )
    done = wait_for(admin, batch.id)
    assert done.status == "completed"
    output = read_jsonl(admin, done.output_file_id)
    assert len(output) == 10
    body = output[0]["response"]["body"]  # type: ignore[index]
    assert body["data"][0]["embedding"]


def test_a_bad_input_file_fails_the_batch_with_line_errors(batch_stack: BatchStack) -> None:
    admin = batch_stack.client()
    data = jsonl([chat_line("a", "x"), chat_line("a", "duplicate id")]) + b"not json\n"
    batch = admin.batches.create(
        input_file_id=upload(admin, data), endpoint="/v1/chat/completions", completion_window="24h"
    )
    failed = wait_for(admin, batch.id)
    assert failed.status == "failed"
    assert failed.errors is not None
    assert failed.errors.data
    codes = {(e.code, e.line) for e in failed.errors.data}
    assert ("duplicate_custom_id", 2) in codes
    assert ("invalid_json_line", 3) in codes


def test_refusals_are_openai_errors(batch_stack: BatchStack) -> None:
    admin, member = batch_stack.client(), batch_stack.client(batch_stack.member_key)
    with pytest.raises(openai.NotFoundError):
        member.batches.create(
            input_file_id="file-nope", endpoint="/v1/chat/completions", completion_window="24h"
        )
    # Another key's input file, and another key's batch, do not exist for a member.
    theirs = upload(admin, jsonl([chat_line("x", "y")]))
    with pytest.raises(openai.NotFoundError):
        member.batches.create(
            input_file_id=theirs, endpoint="/v1/chat/completions", completion_window="24h"
        )
    admin_batch = admin.batches.create(
        input_file_id=theirs, endpoint="/v1/chat/completions", completion_window="24h"
    )
    with pytest.raises(openai.NotFoundError):
        member.batches.retrieve(admin_batch.id)
    assert admin_batch.id not in [b.id for b in member.batches.list()]
    with pytest.raises(openai.BadRequestError):
        admin.batches.create(
            input_file_id=theirs,
            endpoint="/v1/completions",
            completion_window="24h",
        )
    # A member may upload batch input, not documents for collections.
    with pytest.raises(openai.PermissionDeniedError):
        member.files.create(file=("doc.md", b"# x"), purpose="assistants")


def test_cancel_ends_the_batch_with_what_ran(
    batch_stack: BatchStack, batch_upstream: FakeOpenAI
) -> None:
    admin = batch_stack.client()
    # Quick lines, then slow ones (answered after 3 s): the cancel comes while lines run
    # (quick lines can all be done before it arrives, or before the worker sees it). Two
    # jobs (50 lines each): the worker has threads free to finalize while lines run.
    lines = [chat_line(f"c{n}", f"cancel-{n}", model="chat") for n in range(30)]
    lines += [chat_line(f"c{n}", f"cancel-{n}", model="slow") for n in range(30, 100)]
    batch = admin.batches.create(
        input_file_id=upload(admin, jsonl(lines)),
        endpoint="/v1/chat/completions",
        completion_window="24h",
    )
    deadline = time.monotonic() + 30
    while (
        counts := admin.batches.retrieve(batch.id).request_counts
    ) is None or not counts.completed:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    cancelling = admin.batches.cancel(batch.id)  # quick lines done, slow ones running
    assert cancelling.status in ("cancelling", "cancelled")
    assert cancelling.cancelling_at is not None
    done = wait_for(admin, batch.id)
    assert done.status == "cancelled"
    assert done.cancelled_at is not None
    assert done.request_counts is not None
    output = read_jsonl(admin, done.output_file_id)
    errors = read_jsonl(admin, done.error_file_id)
    assert len(output) + len(errors) == done.request_counts.total == 100
    assert 0 < len(output) == done.request_counts.completed < 100  # cancelled part-way
    assert {e["error"]["code"] for e in errors} == {"batch_cancelled"}  # type: ignore[index]

    # The lines still running at the cancel end (each with its ledger row) after the
    # batch did: what they answered changes neither its counts nor its files.
    def sent() -> int:  # this test's lines that reached the upstream
        return sum(
            1
            for r in batch_upstream.requests
            if str(r.body.get("messages", [{}])[-1].get("content", "")).startswith("cancel-")
        )

    wait_until(lambda: ledger_rows_of(batch_stack, batch.id) == sent(), timeout_s=30)
    after = admin.batches.retrieve(batch.id)
    assert after.request_counts == done.request_counts
    assert (after.output_file_id, after.error_file_id) == (done.output_file_id, done.error_file_id)


def test_a_batch_cancelled_while_validating_runs_nothing(batch_stack: BatchStack) -> None:
    admin = batch_stack.client()
    batch = admin.batches.create(
        input_file_id=upload(admin, jsonl([chat_line("v", "x")])),
        endpoint="/v1/chat/completions",
        completion_window="24h",
    )
    admin.batches.cancel(batch.id)
    done = wait_for(admin, batch.id)
    if done.status == "cancelled" and done.request_counts and done.request_counts.total == 0:
        assert done.output_file_id is None
        assert done.error_file_id is None
    else:  # the worker got to it first: cancelled with its line, or already done
        assert done.status in ("cancelled", "completed")


def test_listing_pages_newest_first(batch_stack: BatchStack) -> None:
    member = batch_stack.client(batch_stack.member_key)
    file_id = upload(member, jsonl([chat_line("l", "x")]))
    made = [
        member.batches.create(
            input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h"
        ).id
        for _ in range(3)
    ]
    page = member.batches.list(limit=2)
    assert [b.id for b in page.data] == made[::-1][:2]
    assert page.has_more
    rest = member.batches.list(limit=2, after=page.data[-1].id)
    assert rest.data[0].id == made[0]


def test_a_worker_killed_mid_batch_loses_and_doubles_no_line(batch_stack: BatchStack) -> None:
    admin = batch_stack.client()
    lines = [chat_line(f"k{n}", f"kill {n}") for n in range(1000)]
    batch = admin.batches.create(
        input_file_id=upload(admin, jsonl(lines)),
        endpoint="/v1/chat/completions",
        completion_window="24h",
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        counts = admin.batches.retrieve(batch.id).request_counts
        if counts is not None and 50 <= counts.completed < 900:
            break
        time.sleep(0.05)
    batch_stack.restart_worker(kill=True)
    done = wait_for(admin, batch.id, timeout_s=240)
    assert done.status == "completed", done
    assert done.request_counts is not None
    assert (done.request_counts.completed, done.request_counts.failed) == (1000, 0)
    output = read_jsonl(admin, done.output_file_id)
    assert sorted(str(line["custom_id"]) for line in output) == sorted(f"k{n}" for n in range(1000))
    assert done.error_file_id is None


def test_a_retried_create_with_an_idempotency_key_makes_one_batch(batch_stack: BatchStack) -> None:
    member = batch_stack.client(batch_stack.member_key)
    file_id = upload(member, jsonl([chat_line("i", "once")]))
    headers = {"Idempotency-Key": f"nightly-{time.monotonic_ns()}"}
    first = member.batches.create(
        input_file_id=file_id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        extra_headers=headers,
    )
    again = member.batches.create(
        input_file_id=file_id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        extra_headers=headers,
    )
    assert again.id == first.id


def test_a_finished_batch_is_announced_by_a_signed_webhook(batch_stack: BatchStack) -> None:
    admin_api = OpenAI(
        base_url=f"{batch_stack.url}/admin", api_key=batch_stack.admin_key, max_retries=0
    )
    with WebhookReceiver() as receiver:
        endpoint = admin_api.webhooks.create(
            name="batches", url=receiver.url, event_types=["batch.completed"]
        )
        try:
            admin = batch_stack.client()
            batch = admin.batches.create(
                input_file_id=upload(admin, jsonl([chat_line("w", "hello")])),
                endpoint="/v1/chat/completions",
                completion_window="24h",
            )
            assert wait_for(admin, batch.id).status == "completed"

            def announced() -> list[Any]:
                return [r for r in receiver.received if batch.id.encode() in r.body]

            wait_until(lambda: bool(announced()), timeout_s=30)
            delivery = announced()[0]
            event = admin.webhooks.unwrap(
                delivery.body, delivery.headers, secret=endpoint.signing_secret
            )
            assert event.type == "batch.completed"
            assert event.data.id == batch.id
        finally:
            admin_api.webhooks.delete(endpoint.id)


def test_lines_not_run_when_the_window_ends_expire(batch_stack: BatchStack) -> None:
    admin = batch_stack.client()
    batch_stack.stop_worker()  # nothing runs it before its window ends
    try:
        batch = admin.batches.create(
            input_file_id=upload(admin, jsonl([chat_line(f"x{n}", "late") for n in range(3)])),
            endpoint="/v1/chat/completions",
            completion_window="24h",
        )
        with psycopg.connect(batch_stack.database_url, autocommit=True) as conn:
            conn.execute(  # the 24 hours pass
                "UPDATE batches SET expires_at = now() - interval '1 second' WHERE id = %s",
                (batch.id,),
            )
    finally:
        batch_stack.restart_worker(kill=False)
    done = wait_for(admin, batch.id)
    assert done.status == "expired"
    assert done.expired_at is not None
    assert done.output_file_id is None
    errors = read_jsonl(admin, done.error_file_id)
    assert sorted(str(e["custom_id"]) for e in errors) == ["x0", "x1", "x2"]
    assert {e["error"]["code"] for e in errors} == {"batch_expired"}  # type: ignore[index]
