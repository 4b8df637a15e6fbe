"""A corpus split by publication month over three partitions, searched through the router, ranks
exactly as one store holding it all: the sample corpus (examples/articles/) indexed both ways
with the real encoder into real Chroma, the same questions asked of both, including date
ranges that touch only some partitions."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from index.partitions import PartitionedIngestor
from index.pipeline import Ingestor
from rag.config import Settings
from rag.embeddings import Encoder, text_encoder_for
from rag.engine import Engine
from rag.lexical import bm25_scores, top_positions
from rag.partitions import PartitionMap, PartitionsMisconfigured, open_stores
from rag.retrieve import Retriever
from rag.router import Router
from rag.schemas import Filters, Hit
from rag.store import Store
from support import EXAMPLES, ROOT

QUESTIONS = [json.loads(line)["question"]
             for line in (ROOT / "examples" / "qa.jsonl").read_text().splitlines() if line]
# Months of the sample corpus: March, May, July, August, September, October, November 2025.
MAY = Filters(published_from=dt.date(2025, 5, 1), published_to=dt.date(2025, 5, 31))
AUTUMN = Filters(published_from=dt.date(2025, 9, 1), published_to=dt.date(2025, 10, 31))
FILTERED = [
    ("What did the Bank of Veltara set its policy rate to?", MAY),
    ("Which board members voted against the rate increase?", MAY),
    ("What did Ostmark's finance minister say about the border?", AUTUMN),
    ("How will Brannock protect itself from floods?", AUTUMN),
    ("What happened at Port Averin?", Filters(source="Northwind Wire")),
    ("Who said the rate rise would hurt households?",
     Filters(published_from=dt.date(2025, 5, 14))),
]


@dataclass
class Stores:
    single: Retriever
    router: Router
    single_store: Store
    partition_stores: list[Store]


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> Stores:
    """The sample corpus once in one store, once in three partitions of another."""
    single_settings = Settings(data_dir=tmp_path_factory.mktemp("single"), _env_file=None)
    single_store = Store.open(single_settings)
    Ingestor(single_store, encoder, single_settings).ingest_paths([EXAMPLES])
    settings = Settings(data_dir=tmp_path_factory.mktemp("partitioned"), _env_file=None,
                        partitions=["spring", "summer", "autumn"])
    partition_stores = open_stores(settings)
    PartitionedIngestor(partition_stores, encoder, settings).ingest_paths([EXAMPLES])
    text = text_encoder_for(single_settings, encoder)
    return Stores(Retriever(single_store, text, single_settings), Router.open(settings, text),
                  single_store, partition_stores)


def same(a: list[Hit], b: list[Hit]) -> None:
    """The same chunks in the same order with the same scores: BM25 scores and sentence
    cosines bit for bit; a chunk's cosine as BLAS computes it for its row of the pool, which
    can move its last float32 bit (one store's pool holds other rows), and the scores made
    from it as far."""
    assert [h.chunk.id for h in a] == [h.chunk.id for h in b]
    assert [(h.lexical, h.meaning) for h in a] == [(h.lexical, h.meaning) for h in b]
    for name in ("dense", "fused", "score"):
        assert [getattr(h, name) for h in a] == pytest.approx(
            [getattr(h, name) for h in b], rel=1e-6, abs=1e-7), name


def test_every_article_is_in_its_months_partition(stores: Stores) -> None:
    partition_map = PartitionMap(3)
    counts = [store.article_count() for store in stores.partition_stores]
    assert sum(counts) == stores.single_store.article_count()
    assert sum(1 for c in counts if c) == 3  # the split is real: every partition holds some
    for number, store in enumerate(stores.partition_stores):
        for article_id in store.article_ids():
            assert partition_map.of(store.get_article(article_id).published) == number


@pytest.mark.parametrize("question", QUESTIONS)
def test_partitioned_rankings_equal_the_single_stores(stores: Stores, question: str) -> None:
    single = stores.single.search(question, top_k=10).hits
    assert len(single) == 10
    same(stores.router.search(question, top_k=10).hits, single)


@pytest.mark.parametrize(("question", "filters"), FILTERED)
def test_filtered_rankings_equal_the_single_stores(stores: Stores, question: str,
                                                   filters: Filters) -> None:
    single = stores.single.search(question, top_k=10, filters=filters).hits
    assert single
    same(stores.router.search(question, top_k=10, filters=filters).hits, single)


def test_a_closed_date_range_touches_only_its_months_partitions(stores: Stores) -> None:
    router = stores.router
    assert router.map.touched(MAY) == [PartitionMap(3).of(dt.date(2025, 5, 1))]
    assert len(router.map.touched(AUTUMN)) == 2
    assert router.map.touched(Filters(published_from=dt.date(2025, 5, 14))) == [0, 1, 2]
    # The untouched partitions are not asked: emptied of their snapshot, the ranking stands.
    untouched = [p for k, p in enumerate(router.partitions) if k not in router.map.touched(MAY)]
    question = FILTERED[0][0]
    before = router.search(question, top_k=10, filters=MAY).hits
    for partition in untouched:
        partition.candidates = _fail  # type: ignore[method-assign]
    try:
        same(router.search(question, top_k=10, filters=MAY).hits, before)
    finally:
        for partition in untouched:
            del partition.candidates


def _fail(*_: object, **__: object) -> None:
    raise AssertionError("an untouched partition was asked")


def test_a_partitions_own_bm25_statistics_would_not_do(stores: Stores) -> None:
    """Why the router gathers corpus-wide statistics: one partition's own BM25 scores of its
    chunks differ from the whole corpus's, which the router's equal."""
    question = QUESTIONS[0]
    single = stores.single.refresh()
    snapshots, indexes, statistics = stores.router.refresh()
    terms = statistics.analyzer.query_terms(question)
    differs = 0
    for snapshot, index in zip(snapshots, indexes, strict=True):
        own = snapshot.lexical.scores(question)
        corpus_wide = bm25_scores(index, terms, None)
        expected = single.lexical.scores(question)[
            [single.corpus.position(str(i)) for i in snapshot.corpus.ids]]
        assert np.array_equal(corpus_wide, expected)
        differs += not np.array_equal(own, expected)
    assert differs


def test_a_write_is_searched_at_once_with_the_new_statistics(tmp_path: Path,
                                                           encoder: Encoder) -> None:
    """A partition's snapshot follows its store: an article written through the router's
    stores is found by the next search, and the corpus statistics every partition is scored
    with count it."""
    settings = Settings(data_dir=tmp_path, _env_file=None, partitions=["a", "b", "c"])
    router = Router.open(settings, text_encoder_for(settings, encoder))
    assert router.search("Port Averin dockworkers strike").hits == []
    writer = PartitionedIngestor([p.store for p in router.partitions], encoder, settings)
    writer.ingest_paths([EXAMPLES / "01_port_strike.txt"])
    hits = router.search("Port Averin dockworkers strike").hits
    assert hits and "Averin" in hits[0].chunk.text
    march = PartitionMap(3).of(dt.date(2025, 3, 3))
    held = {c.id for c in router.partitions[march].store.iter_chunks()}
    assert {h.chunk.id for h in hits} <= held
    before = len(router.lexical)
    writer.ingest_paths([EXAMPLES / "10_brannock_flood_barriers.txt"])
    router.search("Brannock flood barriers")
    assert len(router.lexical) > before


def test_the_engine_refuses_partitions_it_would_not_search(tmp_path: Path,
                                                          encoder: Encoder) -> None:
    settings = Settings(data_dir=tmp_path, _env_file=None, partitions=["a", "b"])
    with pytest.raises(PartitionsMisconfigured, match="RAG_PARTITIONS"):
        Engine(settings, encoder=encoder)
    with pytest.raises(PartitionsMisconfigured, match="twice"):
        open_stores(settings.model_copy(update={"partitions": ["a", "a"]}))


def test_a_tie_at_the_last_place_is_kept_by_chunk_id_whatever_the_rows_order() -> None:
    """One store and the router keep the same candidates only if a tie at the n-th place is
    broken by something both see: the chunk id, not the row."""
    scores = np.array([3.0, 2.0, 1.0, 2.0, 2.0, 2.0], dtype=np.float32)
    ids = np.array(["f", "e", "d", "c", "b", "a"])
    for order in (np.arange(6), np.arange(6)[::-1], np.array([4, 0, 2, 5, 1, 3])):
        kept = top_positions(scores[order], 3, ids[order])
        assert sorted(ids[order][kept].tolist()) == ["a", "b", "f"]
    assert sorted(top_positions(scores, 2, ids, floor=2.0).tolist()) in ([0, 1], [0, 3],
                                                                       [0, 4], [0, 5])
