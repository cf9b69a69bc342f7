"""Every string a request forwards is checked, field by field (``FIELDS`` in ``_request``)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from configs import PiiSettings
from gateway.policy.pii import PiiAnalyzer, PiiBlockedError, PiiService, PiiUncheckableError
from gateway.policy.pii._request import FIELDS

EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"
PII = f"{EMAIL} {CARD}"


def chat(**fields: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": "hi"}], **fields}


async def masked(service: PiiService, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
    session = service.session(trust="external", key_policy="mask")
    original = json.dumps(body)
    sent = await session.protect_body(endpoint, body)
    assert json.dumps(body) == original, "the client's body is not changed"
    return sent


def test_the_table_names_a_rule_for_anything_it_does_not_list() -> None:
    for table in FIELDS.values():
        assert table["*"] == "check"
        assert table["model"] == "not-text"


async def test_message_names_tool_call_ids_and_their_answers_share_a_placeholder(
    pii_service: PiiService,
) -> None:
    body = chat(
        messages=[
            {"role": "user", "name": EMAIL, "content": "hi"},
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": CARD, "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": CARD, "content": "ok"},
        ]
    )
    sent = await masked(pii_service, "chat.completions", body)
    assert sent["messages"][0]["name"] == "<EMAIL_ADDRESS_1>"
    assert sent["messages"][1]["tool_calls"][0]["id"] == "<CREDIT_CARD_1>"
    assert sent["messages"][2]["tool_call_id"] == "<CREDIT_CARD_1>"


async def test_tool_schemas_response_formats_and_settings_are_walked(
    pii_service: PiiService,
) -> None:
    schema = {
        "type": "object",
        "properties": {EMAIL: {"type": "string", "enum": [CARD, "other"]}},
    }
    tool = {"type": "function", "function": {"name": "f", "description": PII, "parameters": schema}}
    body = chat(
        tools=[tool],
        response_format={"type": "json_schema", "json_schema": {"name": "r", "schema": schema}},
        user=EMAIL,
        metadata={"owner": EMAIL},
        stop=[CARD],
        logit_bias={CARD: 1},
        prediction={"type": "content", "content": PII},
    )
    sent = await masked(pii_service, "chat.completions", body)
    wire = json.dumps(sent)
    assert EMAIL not in wire
    assert CARD not in wire
    assert sent["tools"][0]["function"]["parameters"]["properties"] == {
        "<EMAIL_ADDRESS_1>": {"type": "string", "enum": ["<CREDIT_CARD_1>", "other"]}
    }
    assert sent["logit_bias"] == {"<CREDIT_CARD_1>": 1}
    assert sent["model"] == "m"


async def test_unknown_fields_are_checked_names_included(pii_service: PiiService) -> None:
    body = chat(x_note={"deep": [PII, 4111111111111111]}, **{EMAIL: True})
    sent = await masked(pii_service, "chat.completions", body)
    assert sent["x_note"] == {"deep": ["<EMAIL_ADDRESS_1> <CREDIT_CARD_1>", "<CREDIT_CARD_2>"]}
    assert sent["<EMAIL_ADDRESS_1>"] is True
    assert EMAIL not in sent


async def test_urls_are_checked_but_base64_payloads_are_not(pii_service: PiiService) -> None:
    payload = base64.b64encode(b"\x89PNG 4111111111111111 " + EMAIL.encode()).decode()
    parts = [
        {"type": "image_url", "image_url": {"url": f"https://img.example/?card={CARD}"}},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{payload}"}},
        {"type": "image_url", "image_url": {"url": f"data:text/plain,{PII}"}},
        {"type": "input_audio", "input_audio": {"data": payload, "format": "wav"}},
        {"type": "file", "file": {"filename": f"{EMAIL} statement.pdf", "file_data": PII}},
    ]
    body = chat(messages=[{"role": "user", "content": parts}])
    sent = await masked(pii_service, "chat.completions", body)
    out = sent["messages"][0]["content"]
    assert out[0]["image_url"]["url"] == "https://img.example/?card=<CREDIT_CARD_1>"
    assert out[1]["image_url"]["url"] == f"data:image/png;base64,{payload}"
    assert out[2]["image_url"]["url"] == "data:text/plain,<EMAIL_ADDRESS_1> <CREDIT_CARD_1>"
    assert out[2]["type"] == "image_url"
    assert out[3]["input_audio"]["data"] == payload
    assert out[4]["file"] == {
        "filename": "<EMAIL_ADDRESS_1> statement.pdf",
        "file_data": "<EMAIL_ADDRESS_1> <CREDIT_CARD_1>",
    }


async def test_completions_suffix_and_embeddings_settings(pii_service: PiiService) -> None:
    sent = await masked(pii_service, "completions", {"model": "m", "prompt": "a", "suffix": PII})
    assert sent["suffix"] == "<EMAIL_ADDRESS_1> <CREDIT_CARD_1>"
    sent = await masked(pii_service, "embeddings", {"model": "e", "input": "a", "user": EMAIL})
    assert sent["user"] == "<EMAIL_ADDRESS_1>"


async def test_a_block_names_the_first_field_holding_the_value(pii_service: PiiService) -> None:
    session = pii_service.session(trust="external", key_policy="block")
    body = chat(tools=[{"type": "function", "function": {"name": "f", "description": PII}}])
    with pytest.raises(PiiBlockedError) as caught:
        await session.protect_body("chat.completions", body)
    assert caught.value.param == "tools[0].function.description"
    assert caught.value.entity_types == ("CREDIT_CARD", "EMAIL_ADDRESS")


async def test_token_ids_are_refused_naming_the_field(pii_service: PiiService) -> None:
    session = pii_service.session(trust="external", key_policy="mask")
    with pytest.raises(PiiUncheckableError) as caught:
        await session.protect_body("completions", {"model": "m", "prompt": ["a", [1, 2]]})
    assert caught.value.param == "prompt[1]"
    allow = pii_service.session(trust="external", key_policy="allow")
    body = {"model": "m", "prompt": [[1, 2]]}
    assert await allow.protect_body("completions", body) is body


async def test_embeddings_input_off_leaves_only_the_input_as_sent(analyzer: PiiAnalyzer) -> None:
    service = PiiService(PiiSettings(embeddings_input=False), analyzer)
    body = {"model": "e", "input": [[1, 2], EMAIL], "user": EMAIL}
    sent = await masked(service, "embeddings", body)
    assert sent == {"model": "e", "input": [[1, 2], EMAIL], "user": "<EMAIL_ADDRESS_1>"}


async def test_too_deep_to_walk_is_a_400_not_a_crash(pii_service: PiiService) -> None:
    deep: Any = EMAIL
    for _ in range(5000):
        deep = [deep]
    session = pii_service.session(trust="external", key_policy="mask")
    with pytest.raises(PiiUncheckableError):
        await session.protect_body("chat.completions", chat(x=deep))


async def test_plain_requests_are_sent_as_they_are(pii_service: PiiService) -> None:
    body = chat(max_tokens=5, temperature=0.5, stream=True, seed=4111111111111111)
    session = pii_service.session(trust="external", key_policy="block")
    assert await session.protect_body("chat.completions", body) is body


async def test_masked_tool_names_come_back_restored(pii_service: PiiService) -> None:
    name = "call_2125550142"
    session = pii_service.session(trust="external", key_policy="mask")
    tool = {"type": "function", "function": {"name": f"{name} {EMAIL}"}}
    sent = await session.protect_body("chat.completions", chat(tools=[tool]))
    masked_name = sent["tools"][0]["function"]["name"]
    assert EMAIL not in masked_name
    call = {"id": "c", "type": "function", "function": {"name": masked_name, "arguments": "{}"}}
    response: dict[str, Any] = {
        "choices": [{"index": 0, "message": {"role": "assistant", "tool_calls": [call]}}]
    }
    session.restore_response("message", response)
    assert response["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == (
        f"{name} {EMAIL}"
    )
    chunk: dict[str, Any] = {
        "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, **call}]}}]
    }
    session.chunk_restorer("message")(chunk)
    assert chunk["choices"][0]["delta"]["tool_calls"][0]["function"]["name"] == (f"{name} {EMAIL}")


async def test_unknown_names_stay_out_of_error_params(pii_service: PiiService) -> None:
    session = pii_service.session(trust="external", key_policy="block")
    with pytest.raises(PiiBlockedError) as caught:
        await session.protect_body("chat.completions", chat(metadata={"a": 1}, **{EMAIL: 1}))
    assert caught.value.param is None


@pytest.mark.parametrize("text", [f"https://img.example/?to={EMAIL}", f"{EMAIL}.pdf"])
async def test_an_email_inside_a_url_or_a_file_name_is_masked(
    pii_service: PiiService, text: str
) -> None:
    """Missed by Presidio; found by the analyzer's own detection (issue 16)."""
    sent = await masked(pii_service, "chat.completions", chat(user=text))
    assert EMAIL not in json.dumps(sent)
