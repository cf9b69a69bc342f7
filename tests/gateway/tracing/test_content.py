"""``tracing.capture_content``: prompts and completions on the upstream attempt's span, as
the upstream saw them (PII masked), and only when the setting says so."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from openai import OpenAI

from tests.support.fake_openai import FakeOpenAI
from tests.support.otlp_receiver import OtlpReceiver
from tests.support.pii_wire import EMAIL, PII, RAW
from tests.support.policy import UPSTREAM_ENV, priced_providers
from tests.support.processes import GatewayProcess, insert_key


def test_content_is_captured_masked_when_asked(
    stack_env: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    with OtlpReceiver() as receiver, FakeOpenAI() as upstream:
        env = {
            **stack_env,
            **UPSTREAM_ENV,
            "RAGWAY_PROVIDERS__MODELS": json.dumps(priced_providers(upstream.base_url)["models"]),
            "RAGWAY_DATA_DIR": str(tmp_path / "data"),
            "RAGWAY_TRACING__CAPTURE_CONTENT": "true",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        }
        _, key = insert_key(database_url, f"content-{secrets.token_hex(3)}")
        with GatewayProcess(env, tmp_path / "gateway.log") as gateway:
            client = OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)
            answer = client.chat.completions.create(
                model="chat", messages=[{"role": "user", "content": f"write to {PII}"}]
            )
            assert EMAIL in (answer.choices[0].message.content or "")  # restored for the client
            (attempt,) = receiver.wait_for(lambda s: s.kind == "client")
    sent = attempt.attributes["gen_ai.input.messages"]
    said = attempt.attributes["gen_ai.output.messages"]
    assert "<EMAIL_ADDRESS_" in sent
    assert json.loads(said)  # the answer's text, as the upstream wrote it
    for value in RAW:
        assert value not in sent
        assert value not in said
