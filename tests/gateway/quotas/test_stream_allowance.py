"""A stream that runs past its key's budget (or, without max_tokens, its tpm) ends early and
cleanly: the official ``openai`` client streams through the running gateway (real Postgres
and Redis) from a fake upstream (a real loopback server) that echoes a long answer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import openai
import psycopg
import pytest
from openai.types.chat import ChatCompletionChunk
from redis import Redis

from configs import ProvidersSettings, Settings
from gateway.entry.app import create_app
from tests.gateway.admin.conftest import create_key
from tests.support.fake_openai import FakeOpenAI
from tests.support.servers import ServerThread
from tests.support.services import RedisForTests

UPSTREAM_ENV = {"FAKE_OPENAI_KEY": "sk-upstream-" + "m" * 20}
# 61 words: the fake streams "echo: " then one chunk per word ("w00 ": one estimated token).
WORDS = " ".join(f"w{n:02d}" for n in range(60))
FULL_ANSWER = f"echo: {WORDS} "


@dataclass(frozen=True)
class Metered:
    base_url: str
    database_url: str
    upstream: FakeOpenAI


@pytest.fixture(scope="module")
def metered(
    settings: Settings, database_url: str, redis_service: RedisForTests
) -> Iterator[Metered]:
    with FakeOpenAI(drip_s=0.05) as upstream:
        deployment = {
            "name": "metered-a",
            "provider": "openai",
            "model": "gpt-metered",
            "base_url": upstream.base_url,
            "api_key_env": "FAKE_OPENAI_KEY",
            "timeout_s": 5,
            # prompts are free; each answer token costs 1000 micro-USD (0.001 USD)
            "input_price_per_1m": 0,
            "output_price_per_1m": 1000,
        }
        # the same, from an upstream that pauses between chunks (a stream still running)
        drip = {**deployment, "name": "metered-drip-a", "model": "fault-drip"}
        providers = ProvidersSettings.model_validate(
            {
                "models": {
                    "metered": {"deployments": [deployment]},
                    "metered-drip": {"deployments": [drip]},
                }
            }
        )
        policy = settings.policy.model_copy(
            update={
                # a stream without max_tokens reserves 10 answer tokens (0.01 USD)
                "quotas": settings.policy.quotas.model_copy(
                    update={"default_completion_tokens": 10}
                ),
                "usage": settings.policy.usage.model_copy(update={"flush_interval_s": 0.1}),
            }
        )
        app = create_app(
            settings.model_copy(update={"providers": providers, "policy": policy}),
            database_url=database_url,
            redis_url=redis_service.url,
            env=UPSTREAM_ENV,
        )
        with ServerThread(app) as server:
            yield Metered(server.base_url, database_url, upstream)


def client(metered: Metered, **key_fields: object) -> tuple[openai.OpenAI, str]:
    created = create_key(metered.database_url, "metered", **key_fields)
    sdk = openai.OpenAI(
        base_url=f"{metered.base_url}/v1", api_key=created.key, max_retries=0, timeout=20
    )
    return sdk, created.id


def stream(sdk: openai.OpenAI, model: str = "metered") -> list[ChatCompletionChunk]:
    chunks = sdk.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": WORDS}],
        stream=True,
        stream_options={"include_usage": True},
    )
    return list(chunks)


def text_of(chunks: list[ChatCompletionChunk]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def finish_of(chunks: list[ChatCompletionChunk]) -> list[str]:
    return [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]


def ledger_row(database_url: str, key_id: str) -> tuple[int, int, float, bool] | None:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT prompt_tokens, completion_tokens, cost_usd::float8, streamed "
            "FROM usage_events WHERE key_id = %s",
            (key_id,),
        ).fetchone()
    return None if row is None else (row[0], row[1], row[2], row[3])


def wait_for_row(database_url: str, key_id: str) -> tuple[int, int, float, bool]:
    deadline = time.monotonic() + 10
    while (row := ledger_row(database_url, key_id)) is None:
        assert time.monotonic() < deadline, "no usage row was written"
        time.sleep(0.05)
    return row


def ask(sdk: openai.OpenAI) -> None:
    sdk.chat.completions.create(model="metered", messages=[{"role": "user", "content": "hi"}])


def test_a_stream_ends_when_the_budget_is_used_up_and_is_settled(
    metered: Metered, redis_service: RedisForTests
) -> None:
    sdk, key_id = client(metered, monthly_budget_usd=0.03)  # 30 answer tokens
    chunks = stream(sdk)

    text = text_of(chunks)
    assert FULL_ANSWER.startswith(text)
    assert 0 < len(text) < len(FULL_ANSWER)  # ended early...
    assert finish_of(chunks) == ["length"]  # ...the way max_tokens ends a stream
    usage = chunks[-1].usage
    assert usage is not None
    assert not chunks[-1].choices  # the usage chunk comes last
    assert usage.completion_tokens == 30  # ceil(characters / 4) when the budget ran out
    assert usage.completion_tokens * 4 >= len(text) > (usage.completion_tokens - 1) * 4

    # The ledger row is written after the settlement is queued (settlements are applied in
    # the background): once it is there, the stream is settled with what was streamed (the
    # reservation held 10 tokens) and the budget is spent.
    assert wait_for_row(metered.database_url, key_id) == (usage.prompt_tokens, 30, 0.03, True)
    with pytest.raises(openai.RateLimitError) as refused:
        ask(sdk)
    assert refused.value.code == "insufficient_quota"
    assert "spent or reserved $0.0300" in refused.value.message

    # Redis forgets the key's counters (a flush of this test's keys only): the spend is
    # seeded again from usage_events, so the budget does not come back.
    redis = Redis.from_url(redis_service.url)
    try:
        own = list(redis.scan_iter(f"{redis_service.key_prefix}quota:{{{key_id}}}*"))
        assert own
        assert redis.delete(*own) == len(own)
    finally:
        redis.close()
    with pytest.raises(openai.RateLimitError) as again:
        ask(sdk)
    assert "spent or reserved $0.0300" in again.value.message


def test_every_choice_of_a_stream_ended_by_its_budget_gets_a_finish_reason(
    metered: Metered,
) -> None:
    sdk, _ = client(metered, monthly_budget_usd=0.03)  # 30 answer tokens, over 3 choices
    chunks = list(
        sdk.chat.completions.create(
            model="metered",
            messages=[{"role": "user", "content": WORDS}],
            stream=True,
            n=3,
            stream_options={"include_usage": True},
        )
    )
    finished = {
        choice.index: choice.finish_reason
        for chunk in chunks
        for choice in chunk.choices
        if choice.finish_reason is not None
    }
    assert finished == {0: "length", 1: "length", 2: "length"}
    texts = {
        i: "".join(c.delta.content or "" for k in chunks for c in k.choices if c.index == i)
        for i in range(3)
    }
    assert all(0 < len(t) < len(FULL_ANSWER) and FULL_ANSWER.startswith(t) for t in texts.values())
    usage = chunks[-1].usage
    assert usage is not None
    assert not chunks[-1].choices
    assert usage.completion_tokens == 30


def test_a_stream_without_max_tokens_stays_within_tpm(metered: Metered) -> None:
    # The prompt is estimated at 65 tokens; 10 answer tokens are reserved; tpm allows 100.
    sdk, key_id = client(metered, tpm=100)
    chunks = stream(sdk)
    usage = chunks[-1].usage
    assert usage is not None
    assert finish_of(chunks) == ["length"]
    assert (usage.prompt_tokens, usage.completion_tokens) == (65, 35)
    wait_for_row(metered.database_url, key_id)
    with pytest.raises(openai.RateLimitError) as refused:
        ask(sdk)
    assert refused.value.code == "rate_limit_exceeded"
    assert "tokens per minute" in refused.value.message


def test_a_stream_within_its_allowance_is_not_touched(metered: Metered) -> None:
    sdk, _ = client(metered, monthly_budget_usd=1.0, tpm=10_000)
    chunks = stream(sdk)
    assert text_of(chunks) == FULL_ANSWER
    assert finish_of(chunks) == ["stop"]
    usage = chunks[-1].usage
    assert usage is not None
    assert usage.completion_tokens == 61  # the upstream's own count


def test_ending_a_stream_closes_the_upstream_request(metered: Metered) -> None:
    sdk, _ = client(metered, monthly_budget_usd=0.012)  # 12 answer tokens
    before, sent = metered.upstream.disconnects, metered.upstream.count()
    started = time.monotonic()
    chunks = stream(sdk, "metered-drip")
    assert finish_of(chunks) == ["length"]
    assert time.monotonic() - started < 61 * 0.05  # not waiting for the whole answer
    deadline = time.monotonic() + 5
    while metered.upstream.disconnects == before:  # the fake's next write finds it closed
        assert time.monotonic() < deadline, "the upstream stream was left running"
        time.sleep(0.02)
    assert metered.upstream.count() == sent + 1
