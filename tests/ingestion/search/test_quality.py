"""Retrieval quality on the labelled set: recall@5 of vector, full-text and hybrid search.

Real parts: the local all-MiniLM-L6-v2 embedder, Postgres with pgvector, HybridSearcher.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator

import pytest
from psycopg_pool import AsyncConnectionPool

from configs import SearchSettings
from inference.embedders import LocalEmbedder
from ingestion.search import HybridSearcher, QueryEmbedder, SearchMode, SearchRequest
from tests.ingestion.search.conftest import migrated_database, opened_pool
from tests.ingestion.search.corpus import Corpus, build_corpus
from tests.support.chunks import SeedFile, seed_store
from tests.support.services import PostgresForTests

STORE = "vs_quality"


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return build_corpus()


@pytest.fixture(scope="module")
def quality_url(postgres: PostgresForTests) -> str:
    """A database holding only the labelled set: the full-text side leaves out words common
    in the chunks table (per ANALYZE), so other tests' chunks must not shape its statistics."""
    return migrated_database(postgres, "ragway_quality")


@pytest.fixture(scope="module")
async def quality_pool(quality_url: str) -> AsyncIterator[AsyncConnectionPool]:
    async with opened_pool(quality_url) as pool:
        yield pool


@pytest.fixture(scope="module")
def passage_of_chunk(corpus: Corpus, quality_url: str, embedder: LocalEmbedder) -> dict[int, str]:
    """The labelled documents as one store: a file per document, a chunk per passage."""
    files = []
    for n, document in enumerate(corpus.documents):
        texts = [p.text for p in document.passages]
        files.append(
            SeedFile(
                file_id=f"file-q{n:02d}",
                filename=f"{document.name}.md",
                texts=texts,
                vectors=embedder.embed(texts),
                attributes=dict(document.attributes),
            )
        )
    ids = seed_store(
        quality_url, STORE, files, model=embedder.model_name, dimension=embedder.dimension
    )
    keys = {f"file-q{n:02d}": doc for n, doc in enumerate(corpus.documents)}
    return {chunk: keys[file_id].passages[index].key for chunk, (file_id, index) in ids.items()}


@pytest.fixture(scope="module")
def searcher(quality_pool: AsyncConnectionPool, embedder: LocalEmbedder) -> HybridSearcher:
    vectors = QueryEmbedder(embedder, max_entries=512, ttl_s=600)
    return HybridSearcher(
        pool=quality_pool,
        vectors=vectors,
        embedding_model=embedder.model_name,
        settings=SearchSettings(),
    )


async def _recall_at_5(
    searcher: HybridSearcher, corpus: Corpus, passage_of_chunk: dict[int, str], mode: SearchMode
) -> dict[str, float]:
    found: dict[str, list[bool]] = defaultdict(list)
    for question in corpus.questions:
        hits = await searcher.search(SearchRequest((STORE,), question.text, 5, mode=mode))
        hit = question.answer in {passage_of_chunk[h.chunk_id] for h in hits}
        found[question.kind].append(hit)
        found["all"].append(hit)
    return {kind: sum(values) / len(values) for kind, values in found.items()}


def test_the_labelled_set_is_large_enough(corpus: Corpus) -> None:
    passages = {p.key for d in corpus.documents for p in d.passages}
    assert len(corpus.documents) >= 20
    assert len(corpus.questions) >= 50
    assert {q.answer for q in corpus.questions} <= passages
    assert {q.kind for q in corpus.questions} == {"paraphrase", "identifier"}


async def test_hybrid_recall_beats_each_side_alone(
    searcher: HybridSearcher, corpus: Corpus, passage_of_chunk: dict[int, str]
) -> None:
    recall = {
        mode: await _recall_at_5(searcher, corpus, passage_of_chunk, mode)
        for mode in ("vector", "text", "hybrid")
    }
    report = "  ".join(
        f"{mode}: {r['all']:.3f} (paraphrase {r['paraphrase']:.3f}, identifier "
        f"{r['identifier']:.3f})"
        for mode, r in recall.items()
    )
    print(f"\nrecall@5 over {len(corpus.questions)} questions: {report}")
    assert recall["hybrid"]["all"] >= max(recall["vector"]["all"], recall["text"]["all"]), report
    assert recall["hybrid"]["all"] >= 0.9, report
