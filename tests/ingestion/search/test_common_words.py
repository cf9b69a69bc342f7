"""Words in most chunks are left out of the full-text match; CommonWords keeps them a while."""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np
import pytest
from psycopg_pool import AsyncConnectionPool

from configs import SearchSettings
from ingestion.search import HybridSearcher, SearchRequest
from ingestion.search._common_words import CommonWords
from tests.ingestion.search.conftest import migrated_database, opened_pool
from tests.support.chunks import SeedFile, seed_store
from tests.support.services import PostgresForTests

MODEL = "synthetic-8"
STORE = "vs_common_words"


class NoVectors:
    async def embed(self, text: str) -> list[float]:
        raise AssertionError("full-text searches need no query vector")


@pytest.fixture(scope="module")
def common_url(postgres: PostgresForTests) -> str:
    """A database of its own: its chunks must not shift other modules' statistics."""
    return migrated_database(postgres, "ragway_common_words")


@pytest.fixture(scope="module")
async def common_pool(common_url: str) -> AsyncIterator[AsyncConnectionPool]:
    async with opened_pool(common_url) as pool:
        yield pool


def text_searcher(pool: AsyncConnectionPool, settings: SearchSettings) -> HybridSearcher:
    return HybridSearcher(pool=pool, vectors=NoVectors(), embedding_model=MODEL, settings=settings)


def seed_texts(url: str, store: str, texts: list[str], seed: int) -> None:
    """One file of ``texts`` in ``store``, with random 8-d vectors; then ANALYZE."""
    vectors = np.random.default_rng(seed).standard_normal((len(texts), 8)).tolist()
    files = [SeedFile(f"file-{store}", f"{store}.txt", texts, vectors)]
    seed_store(url, store, files, model=MODEL, dimension=8)


@pytest.fixture(scope="module")
def store(common_url: str) -> None:
    """400 chunks that all say 'boilerplate'; one also names a rare code."""
    texts = [f"boilerplate paragraph number {i}" for i in range(400)]
    texts[123] = "boilerplate paragraph naming the rare code QV-7731"
    seed_texts(common_url, STORE, texts, seed=3)


@pytest.mark.usefixtures("store")
async def test_a_word_in_most_chunks_does_not_match_on_its_own(
    common_pool: AsyncConnectionPool,
) -> None:
    searcher = text_searcher(common_pool, SearchSettings())
    hits = await searcher.search(SearchRequest((STORE,), "boilerplate QV-7731", 10, mode="text"))
    assert [h.chunk_index for h in hits] == [123]
    # Only common words: they are all the query has, so they match.
    hits = await searcher.search(SearchRequest((STORE,), "boilerplate", 10, mode="text"))
    assert len(hits) == 10


PAIRS = "vs_common_pairs"


@pytest.fixture(scope="module")
def pairs_store(common_url: str, store: None) -> None:
    """300 chunks with one of two common words each; the last three have both."""
    texts = [f"{'alpha' if i % 2 else 'beta'} entry number {i}" for i in range(300)]
    for i in (297, 298, 299):
        texts[i] = f"alpha beta entry number {i}"
    seed_texts(common_url, PAIRS, texts, seed=4)


@pytest.mark.usefixtures("pairs_store")
async def test_a_query_of_only_common_words_ranks_the_chunks_with_all_of_them(
    common_pool: AsyncConnectionPool,
) -> None:
    # Matching any of the words would be ~every chunk, ranked only 100 at a time (an arbitrary
    # 100); the chunks with every word are the ones to rank.
    searcher = text_searcher(common_pool, SearchSettings(text_match_limit=100))
    hits = await searcher.search(SearchRequest((PAIRS,), "alpha beta", 10, mode="text"))
    assert sorted(h.chunk_index for h in hits) == [297, 298, 299]
    # one common word alone still matches what has it
    hits = await searcher.search(SearchRequest((PAIRS,), "alpha", 10, mode="text"))
    assert len(hits) == 10


@pytest.mark.usefixtures("store")
async def test_common_words_are_read_again_once_stale(common_pool: AsyncConnectionPool) -> None:
    now = [0.0]
    common = CommonWords(fraction=0.05, ttl_s=60, clock=lambda: now[0])
    async with common_pool.connection() as conn:
        pending = await common.request(conn)
        assert pending is not None
        assert "boilerpl" in await common.words(pending)
        now[0] = 59.0
        assert await common.request(conn) is None  # fresh: no query sent
        assert "boilerpl" in await common.words(None)
        now[0] = 61.0
        assert await common.request(conn) is not None
