"""Three partitions on three real Chroma servers (`chroma run` on 127.0.0.1) behind one router:
the same rankings as one store holding the sample corpus, and an article deleted on a
partition's server by another process is never cited, even before the router's snapshots
follow."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.partitions import PartitionedIngestor
from index.pipeline import Ingestor
from processes import CHROMA, chroma_servers
from rag.config import Settings
from rag.embeddings import Encoder, text_encoder_for
from rag.partitions import PartitionMap, open_stores
from rag.retrieve import Retriever
from rag.router import Router
from rag.schemas import Filters
from rag.store import Store
from support import EXAMPLES

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not CHROMA.exists(),
                                 reason=f"the `chroma` executable is missing ({CHROMA})")]

QUESTIONS = [
    ("How many dockworkers walked off the job in the Port Averin strike?", None),
    ("Which board members voted against the Bank of Veltara's rate increase?", None),
    ("What did Ostmark's finance minister say about the Bank of Veltara's rate increase?", None),
    ("How much water will Port Averin's planned desalination plant produce?", None),
    ("What did the Bank of Veltara set its policy rate to?",
     Filters(published_from=dt.date(2025, 5, 1), published_to=dt.date(2025, 5, 31))),
    ("How will Brannock protect itself from floods?",
     Filters(published_from=dt.date(2025, 9, 1), published_to=dt.date(2025, 10, 31))),
]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Three `chroma run` servers on free loopback ports, stopped at the end."""
    with chroma_servers(tmp_path_factory.mktemp("partition-servers"), count=3) as urls:
        yield urls


@pytest.fixture(scope="module")
def both(servers: list[str], tmp_path_factory: pytest.TempPathFactory,
         encoder: Encoder) -> tuple[Retriever, Router, Settings]:
    """The sample corpus in one embedded store, and split over the three servers."""
    single_settings = Settings(data_dir=tmp_path_factory.mktemp("single"), _env_file=None)
    single_store = Store.open(single_settings)
    Ingestor(single_store, encoder, single_settings).ingest_paths([EXAMPLES])
    settings = Settings(data_dir=tmp_path_factory.mktemp("router"), _env_file=None,
                        partitions=servers, snapshot_refresh_seconds=3600.0)
    PartitionedIngestor(open_stores(settings), encoder, settings).ingest_paths([EXAMPLES])
    text = text_encoder_for(single_settings, encoder)
    return Retriever(single_store, text, single_settings), Router.open(settings, text), settings


@pytest.mark.parametrize(("question", "filters"), QUESTIONS)
def test_three_servers_rank_as_one_store(both: tuple[Retriever, Router, Settings],
                                         question: str, filters: Filters | None) -> None:
    single, router, _ = both
    assert all(p.store.chunk_count() for p in router.partitions)  # each server holds some
    expected = single.search(question, top_k=10, filters=filters).hits
    found = router.search(question, top_k=10, filters=filters).hits
    assert expected
    assert [h.chunk.id for h in found] == [h.chunk.id for h in expected]
    assert [h.lexical for h in found] == [h.lexical for h in expected]
    assert [h.score for h in found] == pytest.approx([h.score for h in expected], rel=1e-6)


@pytest.mark.parametrize(("reranked", "question"),
                         [(True, QUESTIONS[0][0]), (False, QUESTIONS[3][0])],
                         ids=["re-ranked", "not re-ranked"])
def test_an_article_deleted_on_a_partitions_server_is_not_cited(
        both: tuple[Retriever, Router, Settings], tmp_path: Path, reranked: bool,
        question: str) -> None:
    # Without re-ranking no sentence vector is read, so no partition is asked ahead: the
    # articles about to be returned are asked about when the hits are chosen.
    _, router, settings = both
    searched = router if reranked else Router.open(
        settings.model_copy(update={"rerank_depth": 0}), router.encoder)
    first = searched.search(question, top_k=10).hits[0].chunk
    number = PartitionMap(3).of(first.published)
    # Another process (its own client of the partition's server) deletes the article; the
    # router's snapshots are not refreshed for an hour, yet it must not cite it.
    other = open_stores(settings.model_copy(update={"data_dir": tmp_path}))[number]
    assert other.delete_article(first.article_id)
    for each in (searched, router):
        hits = each.search(question, top_k=10).hits
        assert hits and first.article_id not in {h.chunk.article_id for h in hits}
