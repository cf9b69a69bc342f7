"""A gateway with chat retrieval over a fake upstream that records what it was sent.

Its own database (a store seeded with chunks embedded by the real local embedder, keys with
and without access to it) and its own fake OpenAI-compatible upstream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import openai
import pytest

from configs import ProvidersSettings, Settings
from gateway.entry.app import create_app
from inference.embedders import LocalEmbedder
from ingestion.db import migrate
from tests.support.chunks import SeedFile, seed_store
from tests.support.fake_openai import FakeOpenAI
from tests.support.keys import insert_key
from tests.support.servers import ServerThread
from tests.support.services import PostgresForTests, RedisForTests

STORE = "vs_chat_docs"
UPSTREAM_KEY = "sk-upstream-" + "r" * 20
DOCUMENTS = {
    "file-returns": (
        "returns-policy.md",
        [
            "Returns. Unused items can be sent back within 30 days of delivery for a full refund.",
            "Refunds are paid to the original card within five working days of the return.",
        ],
        {"team": "shop"},
    ),
    "file-alerts": (
        "alerts-runbook.md",
        [
            "ALR-3317 fires when the payment queue holds more than 5000 messages.",
            "Escalation: page the payments on-call; contact ops-lead@example.com if unanswered.",
        ],
        {"team": "ops"},
    ),
    "file-travel": (
        "travel-policy.md",
        ["Book economy class for flights shorter than six hours."],
        {"team": "hr"},
    ),
}


@dataclass(frozen=True)
class ChatStack:
    url: str
    admin: str
    reader: str  # member granted vs_chat_*
    outsider: str  # member granted other-* only
    upstream: FakeOpenAI

    def client(self, key: str) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.url}/v1", api_key=key, max_retries=0, timeout=60)


def _insert_key(url: str, role: str, readable: list[str]) -> str:
    return insert_key(url, name=role, role=role, readable_collections=readable)


def _deployment(name: str, base_url: str, **extra: object) -> dict[str, object]:
    return {
        "name": name,
        "provider": "openai",
        "model": f"upstream-{name}",
        "base_url": base_url,
        "api_key_env": "RETRIEVAL_UPSTREAM_KEY",
        "timeout_s": 10,
        **extra,
    }


@pytest.fixture(scope="package")
def chat_stack(
    settings: Settings, postgres: PostgresForTests, redis_service: RedisForTests
) -> Iterator[ChatStack]:
    url = postgres.create_database("ragway_chat_rag")
    asyncio.run(migrate(url))
    embedder = LocalEmbedder()
    files = [
        SeedFile(file_id, filename, texts, embedder.embed(texts), attributes)
        for file_id, (filename, texts, attributes) in DOCUMENTS.items()
    ]
    seed_store(url, STORE, files, model=embedder.model_name, dimension=embedder.dimension)
    with FakeOpenAI() as upstream:
        models = {
            "rag-external": {"deployments": [_deployment("ext", upstream.base_url)]},
            "rag-local": {"deployments": [_deployment("loc", upstream.base_url, trust="local")]},
            # /v1/responses: "rag-external" is a native Responses upstream, this one is not
            "rag-translate": {
                "deployments": [_deployment("tr", upstream.base_url, responses_api="translate")]
            },
            "rag-small": {
                "deployments": [
                    _deployment("small", upstream.base_url, trust="local", context_window=700)
                ]
            },
        }
        providers = ProvidersSettings.model_validate({"models": models})
        app_settings = settings.model_copy(update={"providers": providers})
        app = create_app(
            app_settings,
            database_url=url,
            redis_url=redis_service.url,
            env={"RETRIEVAL_UPSTREAM_KEY": UPSTREAM_KEY},
        )
        with ServerThread(app) as server:
            yield ChatStack(
                url=server.base_url,
                admin=_insert_key(url, "admin", ["*"]),
                reader=_insert_key(url, "member", ["vs_chat_*"]),
                outsider=_insert_key(url, "member", ["other-*"]),
                upstream=upstream,
            )
