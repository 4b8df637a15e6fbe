"""A snapshot's sentence vectors read from the store by chunk id: the same cosines, to the bit,
as the arrays snapshots used to hold, a bounded cache, and a chunk deleted since read as one
without any."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from api.services import Services
from rag.config import Settings
from rag.embeddings import Encoder, embed_with_parts
from rag.sentence_vectors import SentenceVectors
from rag.snapshot import Snapshot
from rag.store import Store
from rag.stored_sentences import PackedCache, StoredSentences
from support import EXAMPLES, make_services, needs_shared

QUESTION = "How many dockworkers walked off the job, and what did the port authority say?"


def held_in_memory(store: Store, snapshot: Snapshot, directory: Path) -> SentenceVectors:
    """Every row's sentence vectors as a snapshot of format 6 held them: read from the store
    in row order, saved, and loaded back memory-mapped."""
    ids = [str(i) for i in snapshot.corpus.ids]
    packed = store.sentences.get(ids)
    SentenceVectors.from_packed(packed.get(i) for i in ids).save(directory)
    return SentenceVectors.load(directory, len(ids))


def queries(encoder: Encoder) -> np.ndarray:
    """The question's vector and its clauses' (what the re-ranker asks about)."""
    vector, parts = embed_with_parts(encoder, QUESTION, [(0, 40), (45, 78)])
    return np.vstack([vector[None, :], parts]).astype(np.float32)


def assert_same_cosines(read: StoredSentences | SentenceVectors, held: SentenceVectors,
                        positions: Sequence[int], asked: np.ndarray) -> None:
    np.testing.assert_array_equal(read.best_cosines(positions, asked),
                                  held.best_cosines(positions, asked))
    for position in positions:
        np.testing.assert_array_equal(read.cosines(position, asked[0]),
                                      held.cosines(position, asked[0]))


@needs_shared
def test_rows_read_from_the_store_give_the_held_arrays_cosines_to_the_bit(
        news_services: Services, encoder: Encoder, tmp_path: Path) -> None:
    store = news_services.engine.store
    snapshot = Snapshot.build(store, store.revision())
    held = held_in_memory(store, snapshot, tmp_path)
    assert snapshot.sentences.held and held.held and len(snapshot.sentences) == len(held) > 30
    rows = snapshot.sentences.rows(range(len(held)))
    asked_at_once = snapshot.sentences.rows_later(range(len(held)))()
    for name in ("codes", "scales", "offsets"):
        np.testing.assert_array_equal(getattr(rows, name), getattr(held, name))
        np.testing.assert_array_equal(getattr(asked_at_once, name), getattr(held, name))
    asked = queries(encoder)
    everything = list(range(len(held)))
    order = np.random.default_rng(7).permutation(everything).tolist()
    # A re-ranked pool: any order, a row asked twice, a single row, none.
    for positions in (order, order[:60] + order[:3], order[-1:], []):
        assert_same_cosines(snapshot.sentences, held, positions, asked)
    # Read again from the cache, and by a store handle that has cached nothing.
    assert_same_cosines(snapshot.sentences, held, order[:60], asked)
    reopened = Store.open(news_services.settings)
    assert_same_cosines(Snapshot.build(reopened, reopened.revision()).sentences, held, order,
                        asked)


def test_the_cache_keeps_at_most_its_size_and_reads_only_what_it_lacks(
        small_services: Services) -> None:
    store = small_services.engine.store
    ids = [str(i) for i in Snapshot.build(store, store.revision()).corpus.ids]
    asked: list[list[str]] = []

    def read(chunk_ids: Sequence[str]) -> dict[str, bytes]:
        asked.append(list(chunk_ids))
        return store.sentences.get(chunk_ids)

    cache = PackedCache(read, size=4)
    assert cache.get(ids[:3]) == store.sentences.get(ids[:3]) and asked == [ids[:3]]
    assert cache.get(ids[:3] + ids[:1]) == store.sentences.get(ids[:3])
    assert asked == [ids[:3]]  # all held: nothing read
    cache.get(ids[3:8])
    assert len(cache) == 4 and asked[-1] == ids[3:8]
    cache.get(ids[4:8])
    assert asked[-1] == ids[3:8]  # the 4 read last are held ...
    cache.get(ids[:1])
    assert asked[-1] == ids[:1]  # ... the first ones were dropped
    cache.forget(ids[:1])
    cache.get(ids[:1])
    assert asked[-1] == ids[:1] and len(cache) <= 4
    uncached = PackedCache(read, size=0)
    uncached.get(ids[:2])
    uncached.get(ids[:2])
    assert asked[-2:] == [ids[:2], ids[:2]] and len(uncached) == 0
    with pytest.raises(ValueError, match="at least 0"):
        PackedCache(read, size=-1)
    sent: list[list[str]] = []

    def read_later(chunk_ids: Sequence[str]) -> Callable[[], dict[str, bytes]]:
        sent.append(list(chunk_ids))
        found = store.sentences.get(chunk_ids)
        return lambda: found

    later = PackedCache(read, size=4, read_later=read_later)
    later.get(ids[:2])
    answer = later.get_later(ids[:4])  # the two not held are asked for at once
    assert sent == [ids[2:4]] and len(later) == 2
    assert answer() == store.sentences.get(ids[:4]) and len(later) == 4
    assert later.get_later(ids[:4])() == store.sentences.get(ids[:4]) and sent == [ids[2:4]]


def test_rows_read_at_once_are_not_read_again_one_by_one(small_services: Services,
                                                          encoder: Encoder) -> None:
    store = small_services.engine.store
    snapshot = Snapshot.build(store, store.revision())
    asked: list[list[str]] = []

    def read(chunk_ids: Sequence[str]) -> dict[str, bytes]:
        asked.append(list(chunk_ids))
        return store.sentences.get(chunk_ids)

    sentences = StoredSentences(PackedCache(read, size=100).get, snapshot.corpus.ids, held=True)
    rows, vector = list(range(len(snapshot.corpus))), queries(encoder)[0]
    sentences.read(rows + rows[:2])
    assert asked == [[str(i) for i in snapshot.corpus.ids]]  # one request, each id once
    cosines = [sentences.cosines(row, vector) for row in rows]
    assert len(asked) == 1 and all(len(c) for c in cosines)
    sentences.read([])
    assert len(asked) == 1


def test_the_setting_bounds_the_stores_cache(tmp_path: Path, encoder: Encoder,
                                             small_services: Services) -> None:
    store = Store.open(Settings(data_dir=small_services.settings.data_dir, sentence_cache=5,
                                _env_file=None))
    snapshot = Snapshot.build(store, store.revision())
    snapshot.sentences.best_cosines(list(range(len(snapshot.corpus))), queries(encoder))
    assert store.sentence_cache.size == 5 and len(store.sentence_cache) == 5


def test_a_chunk_deleted_since_the_snapshot_reads_as_one_without_vectors(
        tmp_path: Path, encoder: Encoder) -> None:
    services = make_services(tmp_path / "var", encoder)
    services.ingestor.ingest_paths([EXAMPLES])
    store = services.engine.store  # caches what it reads
    snapshot = Snapshot.build(store, store.revision())
    every, asked = list(range(len(snapshot.corpus))), queries(encoder)
    before = snapshot.sentences.best_cosines(every, asked)
    # A replica caching nothing, reading the same snapshot rows.
    replica = Store.open(services.settings.model_copy(update={"sentence_cache": 0}))
    seen = StoredSentences(replica.packed_sentences, snapshot.corpus.ids, held=True)
    articles = list(dict.fromkeys(chunk.article_id for chunk in snapshot.corpus))
    first, second = ([r for r, chunk in enumerate(snapshot.corpus) if chunk.article_id == a]
                     for a in articles[:2])
    kept = [r for r in every if r not in first + second]
    assert before[first].any() and before[second].any() and kept
    # Deleted through this store (what it cached of the article goes too), and by another
    # process the replica does not hear from.
    assert store.delete_article(articles[0]) == len(first)
    assert Store.open(services.settings).delete_article(articles[1]) == len(second)
    for sentences, gone in ((snapshot.sentences, first), (seen, first + second)):
        after = sentences.best_cosines(every, asked)
        np.testing.assert_array_equal(after[gone], 0.0)
        np.testing.assert_array_equal(after[kept], before[kept])
        assert sentences.cosines(gone[0], asked[0]).size == 0
    assert store.holds_sentence_vectors()  # other chunks still have theirs


def test_readers_on_several_threads_get_the_same_answers(small_services: Services,
                                                         encoder: Encoder) -> None:
    store = Store.open(Settings(data_dir=small_services.settings.data_dir, sentence_cache=8,
                                _env_file=None))
    sentences = Snapshot.build(store, store.revision()).sentences
    asked, rows = queries(encoder), list(range(len(sentences)))
    expected = sentences.best_cosines(rows, asked)
    failures: list[BaseException] = []

    def ask(seed: int) -> None:
        order = np.random.default_rng(seed).permutation(rows).tolist()[:12]
        try:
            for _ in range(20):
                np.testing.assert_array_equal(sentences.best_cosines(order, asked),
                                              expected[order])
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=ask, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures and not any(t.is_alive() for t in threads)
    assert len(store.sentence_cache) <= 8
