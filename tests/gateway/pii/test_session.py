"""Masking, redaction, blocking and restoring for whole requests and responses."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from configs import PiiPolicySettings, PiiSettings
from gateway.policy.pii import (
    PiiAnalyzer,
    PiiBlockedError,
    PiiPolicyError,
    PiiService,
    PiiUncheckableError,
)

EMAIL = "jane.doe@example.com"
PHONE = "212-555-0142"
CARD = "4111 1111 1111 1111"


def chat(*messages: dict[str, Any]) -> dict[str, Any]:
    return {"model": "m", "messages": list(messages)}


async def test_external_masks_every_outgoing_text_and_restores_the_answer(
    pii_service: PiiService,
) -> None:
    body = chat(
        {"role": "system", "content": f"The user is {EMAIL}."},
        {"role": "user", "content": [{"type": "text", "text": f"Mail {EMAIL}, call {PHONE}"}]},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": json.dumps({"card": CARD})},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": f"owner email {EMAIL}"},
    )
    original = json.dumps(body)
    session = pii_service.session(trust="external", key_policy=None)
    sent = await session.protect_body("chat.completions", body)
    wire = json.dumps(sent)
    assert json.dumps(body) == original, "the client's body is not changed"
    for value in (EMAIL, PHONE, CARD):
        assert value not in wire
    assert sent["messages"][0]["content"] == "The user is <EMAIL_ADDRESS_1>."
    assert (
        sent["messages"][1]["content"][0]["text"] == "Mail <EMAIL_ADDRESS_1>, call <PHONE_NUMBER_1>"
    )
    assert json.loads(sent["messages"][2]["tool_calls"][0]["function"]["arguments"]) == {
        "card": "<CREDIT_CARD_1>"
    }
    assert sent["messages"][3]["content"] == "owner email <EMAIL_ADDRESS_1>"
    assert session.entity_counts() == {"EMAIL_ADDRESS": 3, "PHONE_NUMBER": 1, "CREDIT_CARD": 1}

    response: dict[str, Any] = {
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Sent to <EMAIL_ADDRESS_1>; <UNKNOWN_9> stays.",
                    "tool_calls": [
                        {
                            "id": "c2",
                            "type": "function",
                            "function": {"name": "f", "arguments": '{"to": "<PHONE_NUMBER_1>"}'},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ]
    }
    session.restore_response("message", response)
    message = response["choices"][0]["message"]
    assert message["content"] == f"Sent to {EMAIL}; <UNKNOWN_9> stays."
    assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == {"to": PHONE}


async def test_local_allows_by_default_and_keys_override(pii_service: PiiService) -> None:
    body = chat({"role": "user", "content": f"mail {EMAIL}"})
    local = pii_service.session(trust="local", key_policy=None)
    assert await local.protect_body("chat.completions", body) is body
    strict = pii_service.session(trust="local", key_policy="redact")
    sent = await strict.protect_body("chat.completions", body)
    assert sent["messages"][0]["content"] == "mail <EMAIL_ADDRESS_REDACTED>"
    assert not strict.vault, "redaction is irreversible"
    with pytest.raises(PiiPolicyError):
        pii_service.session(trust="external", key_policy="no-such-policy")


async def test_block_names_entity_types_never_values(
    pii_settings: PiiSettings, analyzer: PiiAnalyzer
) -> None:
    settings = pii_settings.model_copy(
        update={"external": PiiPolicySettings(default="mask", entities={"US_SSN": "block"})}
    )
    service = PiiService(settings, analyzer)
    session = service.session(trust="external", key_policy=None)
    body = chat({"role": "user", "content": f"ssn 078-05-1121 and {EMAIL}"})
    with pytest.raises(PiiBlockedError) as caught:
        await session.protect_body("chat.completions", body)
    error = caught.value
    assert error.status_code == 400
    assert "US_SSN" in error.message
    assert "078-05-1121" not in error.message
    assert EMAIL not in error.message


async def test_named_policies_mix_actions(pii_settings: PiiSettings, analyzer: PiiAnalyzer) -> None:
    settings = pii_settings.model_copy(
        update={
            "policies": {
                "support": PiiPolicySettings(
                    default="allow", entities={"EMAIL_ADDRESS": "mask", "CREDIT_CARD": "redact"}
                )
            }
        }
    )
    session = PiiService(settings, analyzer).session(trust="external", key_policy="support")
    sent = await session.protect_body(
        "chat.completions", chat({"role": "user", "content": f"{EMAIL} {PHONE} {CARD}"})
    )
    assert sent["messages"][0]["content"] == f"<EMAIL_ADDRESS_1> {PHONE} <CREDIT_CARD_REDACTED>"


async def test_same_value_same_placeholder_and_literal_placeholders_are_kept_apart(
    pii_service: PiiService,
) -> None:
    session = pii_service.session(trust="external", key_policy=None)
    body = chat(
        {"role": "user", "content": "I literally typed <EMAIL_ADDRESS_1> here."},
        {"role": "user", "content": f"{EMAIL}, b@example.org, {EMAIL}"},
    )
    sent = await session.protect_body("chat.completions", body)
    assert (
        sent["messages"][1]["content"] == "<EMAIL_ADDRESS_2>, <EMAIL_ADDRESS_3>, <EMAIL_ADDRESS_2>"
    )
    assert (
        session.vault.restore("<EMAIL_ADDRESS_1> <EMAIL_ADDRESS_2>") == f"<EMAIL_ADDRESS_1> {EMAIL}"
    )


async def test_prompts_embeddings_and_retrieved_context(pii_service: PiiService) -> None:
    session = pii_service.session(trust="external", key_policy=None)
    sent = await session.protect_body(
        "completions", {"model": "m", "prompt": [f"to {EMAIL}", "hi"]}
    )
    assert sent["prompt"] == ["to <EMAIL_ADDRESS_1>", "hi"]
    context = await session.protect_texts([f"doc: contact {EMAIL} or {PHONE}"])
    assert context == ["doc: contact <EMAIL_ADDRESS_1> or <PHONE_NUMBER_1>"]
    embeddings = pii_service.session(trust="external", key_policy=None)
    sent = await embeddings.protect_body("embeddings", {"model": "e", "input": f"{PHONE}"})
    assert sent["input"] == "<PHONE_NUMBER_1>"
    with pytest.raises(PiiUncheckableError):
        await embeddings.protect_body("embeddings", {"model": "e", "input": [[1, 2, 3]]})


async def test_json_numbers_holding_pii_are_masked(pii_service: PiiService) -> None:
    session = pii_service.session(trust="external", key_policy=None)
    arguments = json.dumps({"card": 4111111111111111, "n": 3, "note": None, "tags": [EMAIL]})
    body = chat(
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "a", "type": "function", "function": {"name": "pay", "arguments": arguments}}
            ],
        }
    )
    sent = await session.protect_body("chat.completions", body)
    masked = json.loads(sent["messages"][0]["tool_calls"][0]["function"]["arguments"])
    assert masked == {
        "card": "<CREDIT_CARD_1>",
        "n": 3,
        "note": None,
        "tags": ["<EMAIL_ADDRESS_1>"],
    }


async def test_large_requests_do_not_stall_the_event_loop(pii_service: PiiService) -> None:
    session = pii_service.session(trust="external", key_policy=None)
    text = (f"row {PHONE} and 4111 1111 1111 1111 for {EMAIL}; " * 2000)[:100_000]
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    started = time.perf_counter()
    sent = await session.protect_body("chat.completions", chat({"role": "user", "content": text}))
    took = time.perf_counter() - started
    done.set()
    await task
    assert EMAIL not in json.dumps(sent)
    assert took > 0.05, "the text should take a while to analyse"
    assert len(gaps) > 5
    assert max(gaps) < took / 2, (max(gaps), took)


async def test_a_body_without_personal_data_goes_out_as_it_is_without_a_copy(
    pii_service: PiiService,
) -> None:
    body = chat(
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": [{"type": "text", "text": "What is 2 + 2 at 10:30?"}]},
    )
    session = pii_service.session(trust="external", key_policy=None)
    assert await session.protect_body("chat.completions", body) is body
    assert session.entity_counts() == {}


async def test_a_small_request_is_not_queued_behind_a_huge_one(pii_service: PiiService) -> None:
    huge = (f"row {PHONE} and 4111 1111 1111 1111 for {EMAIL}; " * 2000)[:100_000]
    small = f"Please call {PHONE} about the invoice. " * 20  # ~0.8 KB: analysed inline

    async def protect(text: str) -> tuple[dict[str, Any], float]:
        session = pii_service.session(trust="external", key_policy=None)
        started = time.perf_counter()
        sent = await session.protect_body(
            "chat.completions", chat({"role": "user", "content": text})
        )
        return sent, time.perf_counter() - started

    big = asyncio.create_task(protect(huge))
    await asyncio.sleep(0.005)  # the huge request is being analysed in its worker thread
    sent, waited = await protect(small)
    assert not big.done(), "the huge request ran to its end before the small one got a turn"
    _, took = await big
    assert PHONE not in json.dumps(sent)
    assert took > 0.05, "the huge text should take a while to analyse"
    assert waited < took / 4, (waited, took)
