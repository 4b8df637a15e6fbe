"""The Chroma store: articles and chunks written, read, deleted and repaired; dense search and
the metadata filters; the collection configuration Chroma actually keeps."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from earlier_layout import write_as_earlier_release

import rag.store as store_module
from rag.config import Settings
from rag.schemas import Article, Chunk, Filters, Statement, article_id_for
from rag.store import ArticleNotFound, Store, chroma_where, connect

DIMENSIONS = 384


def basis(*weights: tuple[int, float]) -> np.ndarray:
    """A unit vector from (axis, weight) pairs: nearest neighbours are known by construction."""
    vector = np.zeros(DIMENSIONS, dtype=np.float32)
    for axis, weight in weights:
        vector[axis] = weight
    return vector / np.linalg.norm(vector)


def make_article(text: str, *, title: str = "A title", source: str | None = "Wire",
                 published: dt.date | None = dt.date(2024, 3, 1),
                 path: str | None = None) -> Article:
    return Article(id=article_id_for(text), text=text, title=title, source=source,
                   published=published, url="https://example.org/a", path=path)


def split(article: Article, *sentences: str) -> list[Chunk]:
    """One chunk per given piece of the article text, with its offsets found in the text."""
    chunks = []
    for ordinal, piece in enumerate(sentences):
        start = article.text.index(piece)
        end = start + len(piece)
        chunks.append(Chunk(
            id=f"{article.id}:{ordinal}", article_id=article.id, ordinal=ordinal,
            text=piece, start=start, end=end, title=article.title, source=article.source,
            published=article.published, url=article.url, sentences=((start, end),),
        ))
    return chunks


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "store", _env_file=None)


@pytest.fixture
def store(settings: Settings) -> Store:
    return Store.open(settings)


STRIKE = make_article("Dockworkers went on strike. The port closed. Ships waited offshore.",
                      title="Port strike", source="Harbour Times",
                      published=dt.date(2024, 3, 4), path="port.txt")
STRIKE_CHUNKS = split(STRIKE, "Dockworkers went on strike.", "The port closed.",
                      "Ships waited offshore.")
STRIKE_VECTORS = np.stack([basis((0, 1.0)), basis((1, 1.0)), basis((2, 1.0))])

BUDGET = make_article("The minister cut fuel taxes. Banks will pay a levy.",
                      title="Budget", source="Capital Ledger",
                      published=dt.date(2024, 5, 10), path="budget.txt")
BUDGET_CHUNKS = split(BUDGET, "The minister cut fuel taxes.", "Banks will pay a levy.")
BUDGET_VECTORS = np.stack([basis((3, 1.0)), basis((4, 1.0))])


def test_an_added_article_reads_back_with_its_chunks(store: Store) -> None:
    store.add_article(STRIKE, STRIKE_CHUNKS, STRIKE_VECTORS)
    assert store.article_count() == 1
    assert store.chunk_count() == 3
    assert store.get_article(STRIKE.id) == STRIKE
    assert store.has_article(STRIKE.id)
    chunks = store.chunks_of(STRIKE.id)
    assert chunks == STRIKE_CHUNKS
    for chunk in chunks:
        assert chunk.text == STRIKE.text[chunk.start:chunk.end]
    metadata = store.article_metadata(STRIKE.id)
    assert metadata["chunks"] == 3 and metadata["chars"] == len(STRIKE.text)
    vectors = store.chunk_vectors([c.id for c in STRIKE_CHUNKS])
    for chunk, expected in zip(STRIKE_CHUNKS, STRIKE_VECTORS, strict=True):
        np.testing.assert_allclose(vectors[chunk.id], expected, atol=1e-6)


def test_an_undated_article_without_source_round_trips(store: Store) -> None:
    article = make_article("An undated story. It has no outlet.", source=None, published=None)
    chunks = split(article, "An undated story.", "It has no outlet.")
    store.add_article(article, chunks, np.stack([basis((5, 1.0)), basis((6, 1.0))]))
    assert store.get_article(article.id) == article
    assert [c.published for c in store.chunks_of(article.id)] == [None, None]


def test_re_adding_an_article_does_not_duplicate_it(store: Store) -> None:
    store.add_article(STRIKE, STRIKE_CHUNKS, STRIKE_VECTORS)
    store.add_article(STRIKE, STRIKE_CHUNKS, STRIKE_VECTORS)
    assert (store.article_count(), store.chunk_count()) == (1, 3)


def test_one_vector_per_chunk_is_required(store: Store) -> None:
    with pytest.raises(ValueError, match="one vector per chunk"):
        store.add_article(STRIKE, STRIKE_CHUNKS, STRIKE_VECTORS[:2])
    assert store.article_count() == 0


def test_article_ids_by_path(store: Store) -> None:
    store.add_article(STRIKE, STRIKE_CHUNKS, STRIKE_VECTORS)
    store.add_article(BUDGET, BUDGET_CHUNKS, BUDGET_VECTORS)
    assert sorted(store.article_ids()) == sorted([STRIKE.id, BUDGET.id])
    assert store.article_ids(path="port.txt") == [STRIKE.id]
    assert store.article_ids(path="budget.txt") == [BUDGET.id]
    assert store.article_ids(path="missing.txt") == []


def test_delete_article_removes_every_chunk(store: Store) -> None:
    store.add_article(STRIKE, STRIKE_CHUNKS, STRIKE_VECTORS)
    store.add_article(BUDGET, BUDGET_CHUNKS, BUDGET_VECTORS)
    generation = store.generation
    assert store.delete_article(STRIKE.id) == 3
    assert store.generation > generation
    assert not store.has_article(STRIKE.id)
    assert store.chunks_of(STRIKE.id) == []
    assert store.chunk_count() == 2 and store.article_count() == 1
    assert {c.article_id for c in store.iter_chunks()} == {BUDGET.id}
    with pytest.raises(ArticleNotFound):
        store.get_article(STRIKE.id)


def test_deleting_an_unknown_article_raises(store: Store) -> None:
    with pytest.raises(ArticleNotFound):
        store.delete_article("0123456789abcdef")
    with pytest.raises(ArticleNotFound):
        store.article_metadata("0123456789abcdef")


def test_repair_sweeps_chunks_whose_article_record_is_missing(store: Store) -> None:
    store.add_article(BUDGET, BUDGET_CHUNKS, BUDGET_VECTORS)
    # Simulates a crash between the two writes of add_article: the chunks of STRIKE reached
    # Chroma, its article record (the commit marker) never did.
    store.write_chunks(STRIKE_CHUNKS, STRIKE_VECTORS)
    assert store.chunk_count() == 5
    generation = store.generation
    assert store.repair() == 3
    assert store.generation > generation
    assert store.chunk_count() == 2
    assert store.chunks_of(BUDGET.id) == BUDGET_CHUNKS
    assert store.repair() == 0


def test_nearest_returns_the_nearest_chunk_first(store: Store) -> None:
    store.add_article(STRIKE, STRIKE_CHUNKS, STRIKE_VECTORS)
    store.add_article(BUDGET, BUDGET_CHUNKS, BUDGET_VECTORS)
    query = basis((1, 0.9), (4, 0.3))  # mostly "The port closed.", a little of the levy
    found = store.nearest(query, 5)
    assert [i for i, _ in found[:2]] == [STRIKE_CHUNKS[1].id, BUDGET_CHUNKS[1].id]
    scores = [score for _, score in found]
    assert all(-1.0 - 1e-6 <= s <= 1.0 + 1e-6 for s in scores)
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == pytest.approx(float(query @ STRIKE_VECTORS[1]), abs=1e-4)
    assert scores[-1] == pytest.approx(0.0, abs=1e-4)  # orthogonal chunks
    away = store.nearest(-basis((0, 1.0)), 5)  # the last is the exact opposite vector
    assert away[-1][0] == STRIKE_CHUNKS[0].id
    assert away[-1][1] == pytest.approx(-1.0, abs=1e-4)


def test_nearest_applies_filters_and_handles_an_empty_store(store: Store) -> None:
    assert store.nearest(basis((0, 1.0)), 3) == []
    store.add_article(STRIKE, STRIKE_CHUNKS, STRIKE_VECTORS)
    store.add_article(BUDGET, BUDGET_CHUNKS, BUDGET_VECTORS)
    query = basis((0, 1.0))

    def articles(filters: Filters) -> set[str]:
        return {i.split(":")[0] for i, _ in store.nearest(query, 10, filters)}

    assert articles(Filters(source="Capital Ledger")) == {BUDGET.id}
    assert articles(Filters(published_to=dt.date(2024, 4, 1))) == {STRIKE.id}
    assert articles(Filters(article_ids=[BUDGET.id])) == {BUDGET.id}


@pytest.mark.parametrize(("filters", "expected"), [
    (None, None),
    (Filters(), None),
    (Filters(source=[]), None),
    (Filters(source="Harbour Times"), {"source": {"$in": ["Harbour Times"]}}),
    (Filters(source=["A", "B"]), {"source": {"$in": ["A", "B"]}}),
    (Filters(published_from=dt.date(2024, 3, 1)),
     {"published_day": {"$gte": dt.date(2024, 3, 1).toordinal()}}),
    (Filters(published_to=dt.date(2024, 3, 31)),
     {"published_day": {"$lte": dt.date(2024, 3, 31).toordinal()}}),
    (Filters(article_ids=["a1", "a2"]), {"article_id": {"$in": ["a1", "a2"]}}),
    (Filters(source="A", published_from=dt.date(2024, 3, 1),
             published_to=dt.date(2024, 3, 31), article_ids=["a1"]),
     {"$and": [{"source": {"$in": ["A"]}},
               {"published_day": {"$gte": dt.date(2024, 3, 1).toordinal()}},
               {"published_day": {"$lte": dt.date(2024, 3, 31).toordinal()}},
               {"article_id": {"$in": ["a1"]}}]}),
])
def test_chroma_where_translates_each_filter(filters: Filters | None,
                                             expected: dict | None) -> None:
    assert chroma_where(filters) == expected


def test_chunks_are_cosine_with_a_wide_search_beam(settings: Settings, store: Store) -> None:
    # Read back through a second client: what Chroma persisted, not what we asked for.
    hnsw = connect(settings).get_collection(f"{settings.collection}_chunks").configuration["hnsw"]
    assert hnsw["space"] == "cosine"
    assert hnsw["ef_search"] >= 100


def test_existing_ids_reports_only_stored_articles(store: Store) -> None:
    store.add_article(STRIKE, STRIKE_CHUNKS, STRIKE_VECTORS)
    assert store.existing_ids([]) == set()
    assert store.existing_ids([STRIKE.id, BUDGET.id, "nope"]) == {STRIKE.id}


def test_list_articles_pages_through_every_article_once(store: Store) -> None:
    articles = [make_article(f"Story number {n}. It is short.", title=f"Story {n}")
                for n in range(5)]
    for n, article in enumerate(articles):
        chunks = split(article, f"Story number {n}.")
        store.add_article(article, chunks, np.stack([basis((n, 1.0))]))
    seen: list[str] = []
    for offset in (0, 2, 4):
        rows, total = store.list_articles(offset=offset, limit=2)
        assert total == 5
        assert len(rows) == (2 if offset < 4 else 1)
        for row in rows:
            assert "text" not in row and row["chunks"] == 1
            assert row["title"].startswith("Story ")
        seen.extend(row["id"] for row in rows)
    assert sorted(seen) == sorted(a.id for a in articles)
    rows, total = store.list_articles(offset=10, limit=2)
    assert rows == [] and total == 5


@pytest.mark.parametrize("articles", [4, 5])
def test_every_article_id_is_listed_across_pages_of_ids(
        settings: Settings, store: Store, monkeypatch: pytest.MonkeyPatch, articles: int) -> None:
    monkeypatch.setattr("rag.store.IDS_PAGE", 2)  # a last page full, and one cut short
    stored = [make_article(f"Story number {n}. It is short.") for n in range(articles)]
    for n, article in enumerate(stored):
        store.add_article(article, split(article, f"Story number {n}."),
                          np.stack([basis((n, 1.0))]))
    expected = sorted(a.id for a in stored)
    assert sorted(Store.open(settings).article_ids()) == expected  # read anew, paged
    shared = Store.open(settings)
    shared.sole_writer = False  # lists from the store at every call
    assert sorted(shared.article_ids()) == expected


def test_the_revision_changes_after_every_write_by_any_process(settings: Settings) -> None:
    writer, reader = Store.open(settings), Store.open(settings)  # two handles, as two processes
    seen = [reader.revision()]
    writer.add_article(STRIKE, STRIKE_CHUNKS, STRIKE_VECTORS)
    seen.append(reader.revision())
    writer.add_article(BUDGET, BUDGET_CHUNKS, BUDGET_VECTORS)
    seen.append(reader.revision())
    writer.delete_article(STRIKE.id)
    seen.append(reader.revision())
    assert len(set(seen)) == 4
    assert reader.revision() == seen[-1]  # reading changes nothing
    assert reader.generation == 0  # only the writer's in-process counter moved


def test_a_sole_writers_revision_follows_its_token_and_a_shared_stores_its_counts(
        settings: Settings) -> None:
    writer, reader = Store.open(settings), Store.open(settings)
    assert reader.sole_writer  # an embedded store: one process's
    known = reader.revision()
    assert reader.revision_since(known) is known
    updated = {"title": "Budget, corrected"}
    for write in (lambda: writer.add_article(BUDGET, BUDGET_CHUNKS, BUDGET_VECTORS),
                  lambda: writer.update_metadata(BUDGET.id, updated),
                  lambda: writer.delete_article(BUDGET.id)):
        write()
        seen = reader.revision_since(known)
        assert seen != known and seen == reader.revision()
        known = seen
    # A write that leaves no token (chunks stored, as a writer on a shared server killed
    # before its record and token): only the counts show it, and a store others write to
    # reads them.
    writer.write_chunks(STRIKE_CHUNKS, STRIKE_VECTORS)
    assert reader.revision_since(known) is known
    reader.sole_writer = False
    assert reader.revision_since(known) == reader.revision() != known


def test_committed_pages_leave_out_orphans_and_repair_spares_fresh_ones(store: Store) -> None:
    store.add_article(BUDGET, BUDGET_CHUNKS, BUDGET_VECTORS)
    # A write in flight (or killed): chunks stored, their article record not yet.
    store.write_chunks(STRIKE_CHUNKS, STRIKE_VECTORS)
    pages = list(store.committed_pages())
    assert {c.article_id for chunks, _ in pages for c in chunks} == {BUDGET.id}
    vectors = np.concatenate([v for _, v in pages])
    np.testing.assert_allclose(vectors, BUDGET_VECTORS, atol=1e-6)  # row i is chunk i's
    assert store.repair(grace_seconds=3600) == 0  # may be another process's write: kept
    assert store.chunk_count() == 5
    assert store.repair() == 3
    assert store.chunk_count() == 2


def sentence_rows(chunks: list[Chunk]) -> list[np.ndarray]:
    """One unit sentence vector per chunk, distinct by chunk."""
    return [basis((10 + n, 1.0))[None, :] for n in range(len(chunks))]


def test_sentence_vectors_live_beside_the_chunks_and_go_with_their_article(
        store: Store) -> None:
    store.add_articles([(STRIKE, STRIKE_CHUNKS, STRIKE_VECTORS),
                        (BUDGET, BUDGET_CHUNKS, BUDGET_VECTORS)],
                       sentence_rows(STRIKE_CHUNKS) + sentence_rows(BUDGET_CHUNKS))
    # Not in the chunk's metadata: a store of their own (a SQLite table here).
    raw = store._chunks.get(ids=[STRIKE_CHUNKS[0].id], include=["metadatas"])["metadatas"][0]
    assert "sentence_vectors" not in raw
    assert store.sentences.count() == 5
    held = store.sentence_vectors([STRIKE_CHUNKS[1].id])[STRIKE_CHUNKS[1].id]
    np.testing.assert_allclose(held[0], basis((11, 1.0)), atol=0.01)
    ids = [c.id for chunks, _ in store.committed_pages() for c in chunks]
    packed = store.packed_sentences(ids)
    assert len(ids) == len(packed) == 5 and all(packed.values())
    store.delete_article(STRIKE.id)
    assert store.sentences.count() == 2
    assert set(store.sentences.ids()) == {c.id for c in BUDGET_CHUNKS}


def test_repair_sweeps_sentence_vectors_no_committed_chunk_has(store: Store) -> None:
    store.add_articles([(BUDGET, BUDGET_CHUNKS, BUDGET_VECTORS)], sentence_rows(BUDGET_CHUNKS))
    # A write killed after the sentence vectors, before its chunks (the first of its writes).
    store.sentences.put([(c.id, b"\x00" * 8) for c in STRIKE_CHUNKS])
    assert store.repair(grace_seconds=3600) == 0 and store.sentences.count() == 5
    assert store.repair() == 0  # no chunk to remove ...
    assert set(store.sentences.ids()) == {c.id for c in BUDGET_CHUNKS}  # ... only these


def test_sentence_vectors_an_earlier_release_kept_in_chunk_metadata_are_read_and_moved(
        store: Store) -> None:
    store.add_articles([(STRIKE, STRIKE_CHUNKS, STRIKE_VECTORS)], sentence_rows(STRIKE_CHUNKS))
    # What an earlier release wrote: the packed vectors in base64 in each chunk's metadata.
    ids = [c.id for c in STRIKE_CHUNKS]
    packed = store.sentences.get(ids)
    store._chunks.update(ids=ids, metadatas=[
        {"sentence_vectors": base64.b64encode(packed[i]).decode()} for i in ids])
    store.sentences.delete(ids)
    assert not store.holds_sentence_vectors() and store.packed_sentences(ids) == {}
    # A snapshot's read of the chunks copies them into the sentence store ...
    assert [c.id for chunks, _ in store.committed_pages() for c in chunks] == ids
    assert store.holds_sentence_vectors() and store.packed_sentences(ids) == packed
    # ... and moving them empties the metadata.
    assert store.move_sentence_vectors() == 3
    assert store.sentences.get(ids) == packed
    metadata = store._chunks.get(ids=ids, include=["metadatas"])["metadatas"]
    assert not any("sentence_vectors" in m for m in metadata)
    list(store.committed_pages())
    assert store.packed_sentences(ids) == packed
    assert store.move_sentence_vectors() == 0


def test_the_one_writer_sweeps_again_only_after_a_write_stopped_halfway(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    assert store.sole_writer
    store.add_article(BUDGET, BUDGET_CHUNKS, BUDGET_VECTORS)
    assert store.repair() == 0
    reads: list[int] = []
    counts = store.article_chunk_counts

    def counted(*args: object) -> dict[str, int]:
        reads.append(1)
        return counts(*args)

    monkeypatch.setattr(store, "article_chunk_counts", counted)
    store.add_article(STRIKE, STRIKE_CHUNKS, STRIKE_VECTORS)  # whole: nothing to sweep
    store.delete_article(STRIKE.id)
    assert store.repair() == 0 and reads == []
    store.write_chunks(STRIKE_CHUNKS, STRIKE_VECTORS)  # chunks whose record never comes
    assert store.repair() == 3 and reads == [1]
    assert store.chunk_count() == 2


def test_the_one_writer_keeps_the_article_ids_and_sees_another_handle_s_writes(
        store: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [f"Report {n}: the ferry line adds crossing number {n}." for n in range(4)]
    articles = [make_article(text) for text in texts]

    def add(handle: Store, article: Article) -> None:
        handle.add_article(article, split(article, article.text), np.stack([basis((0, 1.0))]))

    add(store, articles[0])
    assert store.sole_writer and store.article_ids() == [articles[0].id]
    reads: list[int] = []
    pages = store_module._pages
    monkeypatch.setattr(store_module, "_pages",
                        lambda *a, **k: reads.append(1) or pages(*a, **k))
    add(store, articles[1])
    assert store.article_ids() == [articles[0].id, articles[1].id]
    store.delete_article(articles[0].id)
    assert store.article_ids() == [articles[1].id] and reads == []  # kept, not read again
    add(Store.open(settings), articles[2])  # another handle: the revision token moves on
    assert sorted(store.article_ids()) == sorted([articles[1].id, articles[2].id])
    assert reads == [1]
    assert store.article_ids(path="elsewhere") == [] and reads == [1, 1]


def test_committed_chunks_are_read_by_id_or_else_by_their_article(store: Store) -> None:
    store.add_article(STRIKE, STRIKE_CHUNKS, STRIKE_VECTORS)
    store.add_article(BUDGET, BUDGET_CHUNKS, BUDGET_VECTORS)
    store.write_chunks(split(make_article("Uncommitted words."), "Uncommitted words."),
                       np.stack([basis((5, 1.0))]))
    stated = store.article_chunk_counts([BUDGET.id, STRIKE.id])
    # A count the chunks read by id do not match (a write racing the read): that article is
    # read again by the filter.
    for counts in (None, stated, {**stated, BUDGET.id: 3}):
        chunks, vectors = store.committed_chunks([BUDGET.id, STRIKE.id], counts)
        assert chunks == [*BUDGET_CHUNKS, *STRIKE_CHUNKS]
        np.testing.assert_allclose(vectors, np.concatenate([BUDGET_VECTORS, STRIKE_VECTORS]),
                                   atol=1e-6)
    assert store.committed_chunks([article_id_for("Uncommitted words.")], {})[0] == []


def spoken(article: Article, *sentences: str) -> list[Chunk]:
    """`split`, each chunk's sentence spoken by a minister with a statement record for it."""
    return [c.model_copy(update={
        "speakers": ("Ada Minister",), "statements": (Statement(
            start=c.start, end=c.end, speaker="Ada Minister", kind="reported", cue="said",
            roles=("finance minister",)),)}) for c in split(article, *sentences)]


SIGNED = STRIKE.model_copy(update={"signature": "5:" + base64.b64encode(
    np.arange(128, dtype=np.uint32).tobytes()).decode(), "story_id": STRIKE.id})
SPOKEN_CHUNKS = spoken(STRIKE, "Dockworkers went on strike.", "The port closed.",
                       "Ships waited offshore.")
FILTERED = {"article_id", "source", "published_day"}


def test_chunk_layouts_and_signatures_live_beside_chroma_and_go_with_their_article(
        store: Store) -> None:
    store.add_article(SIGNED, SPOKEN_CHUNKS, STRIKE_VECTORS)
    store.add_article(BUDGET, BUDGET_CHUNKS, BUDGET_VECTORS)
    # Chroma keeps what filters read; the rest is one blob an article.
    raw = store._chunks.get(ids=[c.id for c in SPOKEN_CHUNKS], include=["metadatas"])
    assert all(set(m) == FILTERED for m in raw["metadatas"])
    assert "signature" not in store.article_metadata(SIGNED.id)
    assert set(store.layouts.ids()) == {SIGNED.id, BUDGET.id}
    assert store.article_signatures([SIGNED.id, BUDGET.id]) == {SIGNED.id: SIGNED.signature}
    assert store.chunks_of(SIGNED.id) == SPOKEN_CHUNKS
    assert [c for chunks, _ in store.committed_pages() for c in chunks] == (
        SPOKEN_CHUNKS + BUDGET_CHUNKS)
    store.delete_article(SIGNED.id)
    assert set(store.layouts.ids()) == {BUDGET.id} and store.signatures.count() == 0


def test_repair_sweeps_layouts_and_signatures_no_committed_article_has(store: Store) -> None:
    store.add_article(BUDGET, BUDGET_CHUNKS, BUDGET_VECTORS)
    # A write killed after its blobs, before its chunks.
    store.texts.put([(SIGNED.id, b"")])
    store.signatures.put([(SIGNED.id, b"5:" + b"\x00" * 512)])
    store.write_chunks(SPOKEN_CHUNKS, STRIKE_VECTORS)
    store._chunks.delete(ids=[c.id for c in SPOKEN_CHUNKS])
    assert store.repair(grace_seconds=3600) == 0 and store.layouts.count() == 2
    assert store.repair() == 0
    assert set(store.layouts.ids()) == {BUDGET.id} and store.signatures.count() == 0


def test_a_store_written_before_layout_blobs_reads_the_same_and_moves(store: Store) -> None:
    store.add_article(SIGNED, SPOKEN_CHUNKS, STRIKE_VECTORS)
    store.add_article(BUDGET, BUDGET_CHUNKS, BUDGET_VECTORS)
    before = [c for chunks, _ in store.committed_pages() for c in chunks]
    ids, signatures = write_as_earlier_release(store)
    assert signatures == {SIGNED.id: SIGNED.signature} and store.layouts.count() == 0
    raw = store._chunks.get(ids=ids, include=["metadatas"])["metadatas"]
    assert all({"sentences", "start", "ordinal", "written_at"} <= set(m) for m in raw)
    # Read as it is, and written to as it is: a new article gets the new layout beside them.
    ferry = make_article("The ferry sailed at dawn. Its crew was new.", title="Ferry")
    ferry_chunks = spoken(ferry, "The ferry sailed at dawn.", "Its crew was new.")
    store.add_article(ferry, ferry_chunks, np.stack([basis((5, 1.0)), basis((6, 1.0))]))
    before += ferry_chunks
    assert [c for chunks, _ in store.committed_pages() for c in chunks] == before
    assert store.article_signatures([SIGNED.id]) == signatures
    # ... and moved: the same chunks, the metadata down to what filters read.
    assert store.move_layouts() == 5 and store.move_signatures() == 1
    raw = store._chunks.get(ids=ids, include=["metadatas"])["metadatas"]
    assert all(set(m) == FILTERED for m in raw)
    assert "signature" not in store.article_metadata(SIGNED.id)
    assert [c for chunks, _ in store.committed_pages() for c in chunks] == before
    assert store.article_signatures([SIGNED.id]) == signatures
    assert store.move_layouts() == 0 and store.move_signatures() == 0
    # The filters read what stayed.
    near = [i for i, _ in store.nearest(basis((3, 1.0)), 5, Filters(source="Harbour Times"))]
    assert sorted(near) == sorted(c.id for c in SPOKEN_CHUNKS)
    near = [i for i, _ in store.nearest(basis((1, 1.0)), 5,
                                        Filters(published_from=dt.date(2024, 5, 1)))]
    assert sorted(near) == sorted(c.id for c in BUDGET_CHUNKS)
