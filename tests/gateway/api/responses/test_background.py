"""``background: true`` with the official ``openai`` SDK, run by a real ``ragway worker``.

Accepted ``queued`` at once, run by the worker through the gateway's policy (PII masked
upstream and restored, the usage ledger), polled with ``retrieve``; cancelled while it runs
(the upstream call is dropped); a streamed one resumed with ``starting_after``; a worker
SIGKILLed mid-run: the response is run again once its lease has run out; the ends are
announced by signed webhooks.
"""

from __future__ import annotations

import json
import secrets
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import openai
import psycopg
import pytest
from openai import OpenAI
from openai.types.responses import Response

from tests.support.fake_openai import FakeOpenAI
from tests.support.net import wait_until
from tests.support.pii_wire import PII, assert_masked, assert_restored
from tests.support.policy import UPSTREAM_ENV, priced_providers
from tests.support.processes import ApiStack, GatewayProcess, insert_key
from tests.support.servers import start_process
from tests.support.webhook_receiver import WebhookReceiver

TERMINAL = {"completed", "failed", "cancelled", "incomplete"}


@dataclass
class Stack(ApiStack):
    upstream: FakeOpenAI


@pytest.fixture(scope="module")
def stack(
    stack_env: dict[str, str], database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    with FakeOpenAI(slow_s=6.0) as upstream:
        models = dict(priced_providers(upstream.base_url)["models"])  # type: ignore[call-overload]
        for alias, fault in (
            ("slow", "fault-slow"),
            ("drip", "fault-drip"),
            ("hang", "fault-hang"),
        ):
            model = json.loads(json.dumps(models["chat"]))
            model["deployments"][0].update(name=f"{alias}-a", model=fault, timeout_s=30)
            models[alias] = model
        folder = tmp_path_factory.mktemp("background")
        env = {
            **stack_env,
            **UPSTREAM_ENV,
            "RAGWAY_PROVIDERS__MODELS": json.dumps(models),
            "RAGWAY_WORKER__NAMESPACE": f"{stack_env['RAGWAY_WORKER__NAMESPACE']}-background",
            "RAGWAY_WORKER__HEARTBEAT_TIMEOUT_S": "4",
            "RAGWAY_WORKER__RECOVERY_INTERVAL_S": "1",
            "RAGWAY_RESPONSES__BACKGROUND_LEASE_S": "2",
            "RAGWAY_RESPONSES__BACKGROUND_MAX_PENDING_PER_KEY": "3",
            "RAGWAY_DATA_DIR": str(folder / "data"),
            "RAGWAY_WEBHOOKS__ALLOW_PRIVATE_TARGETS": "true",  # receivers on loopback
        }
        _, admin_key = insert_key(database_url, f"bg-admin-{secrets.token_hex(3)}")
        member_id, member_key = insert_key(
            database_url, f"bg-member-{secrets.token_hex(3)}", role="member"
        )
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(
                "UPDATE api_keys SET allowed_models = ARRAY['chat', 'slow'] WHERE id = %s",
                (member_id,),
            )
        with GatewayProcess(env, folder / "gateway.log") as gateway:
            stack = Stack(
                gateway.url,
                env,
                database_url,
                admin_key,
                member_key,
                member_id,
                start_process(["worker"], env),
                upstream,
            )
            try:
                yield stack
            finally:
                stack.stop_worker()


def wait_for(client: OpenAI, response_id: str, timeout_s: float = 60) -> Response:
    deadline = time.monotonic() + timeout_s
    while True:
        response = client.responses.retrieve(response_id)
        if response.status in TERMINAL or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


def wait_status(client: OpenAI, response_id: str, status: str) -> None:
    wait_until(lambda: client.responses.retrieve(response_id).status == status, timeout_s=30)


def row(stack: Stack, query: str, *params: Any) -> Any:
    with psycopg.connect(stack.database_url) as conn:
        found = conn.execute(query, params).fetchone()
    assert found is not None
    return found[0]


def test_a_background_response_is_queued_then_run_through_the_policy(stack: Stack) -> None:
    member = stack.client(stack.member_key)
    before = len(stack.upstream.requests)
    accepted = member.responses.create(model="chat", input=f"write to {PII}", background=True)
    assert accepted.status == "queued"
    assert accepted.background is True
    assert accepted.output == []
    done = wait_for(member, accepted.id)
    assert done.status == "completed", done
    assert done.background is True
    assert (done.id, done.created_at) == (accepted.id, accepted.created_at)
    assert_restored(done.output_text)
    assert done.usage is not None
    assert done.usage.output_tokens > 0
    assert_masked([json.dumps(r.body) for r in stack.upstream.requests[before:]])
    # The run is in the usage ledger under the member's key, with its tokens.
    output_tokens = done.usage.output_tokens
    wait_until(
        lambda: (
            row(
                stack,
                "SELECT coalesce(sum(completion_tokens), 0) FROM usage_events WHERE key_id = %s",
                stack.member_id,
            )
            >= output_tokens
        ),
        timeout_s=15,
    )
    # Its items are kept as for any stored response (a later turn continues it).
    items = member.responses.input_items.list(accepted.id)
    assert [item.type for item in items.data] == ["message"]
    follow = member.responses.create(model="chat", input="and again", previous_response_id=done.id)
    assert follow.status == "completed"


def test_refusals_are_openai_errors(stack: Stack) -> None:
    member = stack.client(stack.member_key)
    with pytest.raises(openai.BadRequestError) as no_store:
        member.responses.create(model="chat", input="x", background=True, store=False)
    assert no_store.value.code == "background_requires_store"
    with pytest.raises(openai.PermissionDeniedError):
        member.responses.create(model="drip", input="x", background=True)
    plain = member.responses.create(model="chat", input="not in the background")
    with pytest.raises(openai.BadRequestError) as not_background:
        member.responses.cancel(plain.id)
    assert not_background.value.code == "not_background"
    with pytest.raises(openai.BadRequestError) as not_streamed:
        member.responses.retrieve(plain.id, stream=True)
    assert not_streamed.value.code == "not_streamed"
    bad = httpx.get(
        f"{stack.url}/v1/responses/{plain.id}",
        params={"stream": "true", "starting_after": "soon"},
        headers={"authorization": f"Bearer {stack.member_key}"},
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "starting_after"
    others = stack.client().responses.create(model="chat", input="admin's", background=True)
    with pytest.raises(openai.NotFoundError):
        member.responses.cancel(others.id)
    with pytest.raises(openai.NotFoundError):
        member.responses.retrieve(others.id, stream=True)


def test_cancel_stops_a_running_response_and_its_upstream_call(stack: Stack) -> None:
    admin = stack.client()
    with WebhookReceiver() as receiver:
        admin_api = OpenAI(base_url=f"{stack.url}/admin", api_key=stack.admin_key, max_retries=0)
        endpoint = admin_api.webhooks.create(
            name="responses", url=receiver.url, event_types=["response.cancelled"]
        )
        try:
            disconnects = stack.upstream.disconnects
            stream = admin.responses.create(
                model="hang", input="never ends", background=True, stream=True
            )
            seen = []
            for event in stream:
                seen.append(event)
                if event.type == "response.in_progress":  # the upstream answered, then hangs
                    break
            stream.close()
            response_id = seen[0].response.id  # type: ignore[union-attr]
            assert seen[0].type == "response.created"
            assert seen[0].response.status == "queued"
            assert admin.responses.retrieve(response_id).status == "in_progress"
            cancelled = admin.responses.cancel(response_id)
            assert cancelled.status == "cancelled"
            # The worker drops the upstream call, and never ends the response otherwise.
            wait_until(lambda: stack.upstream.disconnects > disconnects, timeout_s=15)
            time.sleep(1)
            assert admin.responses.retrieve(response_id).status == "cancelled"
            assert admin.responses.cancel(response_id).status == "cancelled"  # idempotent

            def announced() -> list[Any]:
                return [r for r in receiver.received if response_id.encode() in r.body]

            wait_until(lambda: bool(announced()), timeout_s=30)
            notice = admin.webhooks.unwrap(
                announced()[0].body, announced()[0].headers, secret=endpoint.signing_secret
            )
            assert notice.type == "response.cancelled"
        finally:
            admin_api.webhooks.delete(endpoint.id)


def test_a_queued_response_cancelled_never_runs(stack: Stack) -> None:
    admin = stack.client()
    stack.worker.send_signal(signal.SIGSTOP)  # nothing takes it before the cancel
    try:
        accepted = admin.responses.create(model="chat", input="cancel me", background=True)
        assert admin.responses.cancel(accepted.id).status == "cancelled"
    finally:
        stack.worker.send_signal(signal.SIGCONT)
    time.sleep(2)
    assert admin.responses.retrieve(accepted.id).status == "cancelled"
    assert row(stack, "SELECT attempts FROM responses WHERE id = %s", accepted.id) == 0


def test_a_key_may_have_so_many_pending_at_once(stack: Stack) -> None:
    _, key = insert_key(stack.database_url, f"bg-many-{secrets.token_hex(3)}")
    client = stack.client(key)
    stack.worker.send_signal(signal.SIGSTOP)  # nothing runs them meanwhile
    try:
        pending = [
            client.responses.create(model="chat", input=f"n{n}", background=True) for n in range(3)
        ]
        with pytest.raises(openai.RateLimitError) as refused:
            client.responses.create(model="chat", input="one more", background=True)
        assert refused.value.code == "too_many_background_responses"
        client.responses.cancel(pending[0].id)
        client.responses.create(model="chat", input="now there is room", background=True)
    finally:
        stack.worker.send_signal(signal.SIGCONT)


def test_a_background_stream_resumes_after_a_sequence_number(stack: Stack) -> None:
    admin = stack.client()
    stream = admin.responses.create(
        model="drip", input="one two three four five six", background=True, stream=True
    )
    first = []
    for event in stream:
        first.append(event)
        if len(first) == 4:
            break
    stream.close()
    response_id = first[0].response.id  # type: ignore[union-attr]
    resumed = list(
        admin.responses.retrieve(response_id, stream=True, starting_after=first[-1].sequence_number)
    )
    events = [*first, *resumed]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[-1].type == "response.completed"
    final = events[-1].response
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == final.output_text
    stored = wait_for(admin, response_id)
    assert stored.status == "completed"
    assert stored.output_text == text
    # The whole stream again from the start, after the response ended.
    again = list(admin.responses.retrieve(response_id, stream=True))
    assert [e.sequence_number for e in again] == list(range(len(events)))


def test_a_running_response_deleted_stays_deleted(stack: Stack) -> None:
    admin = stack.client()
    accepted = admin.responses.create(model="slow", input="delete me", background=True)
    wait_status(admin, accepted.id, "in_progress")
    admin.responses.delete(accepted.id)
    time.sleep(7)  # past the slow upstream's answer: the run ends without bringing it back
    with pytest.raises(openai.NotFoundError):
        admin.responses.retrieve(accepted.id)


def test_a_response_whose_worker_was_killed_runs_again(stack: Stack) -> None:
    admin = stack.client()
    accepted = admin.responses.create(model="slow", input="survive", background=True)
    wait_status(admin, accepted.id, "in_progress")
    stack.restart_worker(
        kill=True
    )  # SIGKILL mid-run: its lease (2 s) runs out, a new worker runs it
    done = wait_for(admin, accepted.id, timeout_s=90)
    assert done.status == "completed", done
    assert row(stack, "SELECT attempts FROM responses WHERE id = %s", accepted.id) == 2


def test_a_run_the_policy_refuses_ends_failed(stack: Stack) -> None:
    key_id, key = insert_key(stack.database_url, f"bg-revoked-{secrets.token_hex(3)}")
    client = stack.client(key)
    stack.worker.send_signal(signal.SIGSTOP)  # the key is revoked before a worker runs it
    try:
        accepted = client.responses.create(model="chat", input="revoked", background=True)
        with psycopg.connect(stack.database_url, autocommit=True) as conn:
            conn.execute("UPDATE api_keys SET revoked_at = now() WHERE id = %s", (key_id,))
    finally:
        stack.worker.send_signal(signal.SIGCONT)
    admin = stack.client()
    done = wait_for(admin, accepted.id)
    assert done.status == "failed"
    assert done.error is not None
    assert "no longer valid" in done.error.message
