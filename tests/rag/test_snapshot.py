"""The search snapshot: chunks as columns, saved under the data dir keyed by the store's
revision, loaded on the next start when the store is unchanged, rebuilt when it is not."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from api.services import Services
from index.load import Document
from rag.corpus import Corpus
from rag.retrieve import Retriever
from rag.schemas import Article, Chunk, Filters, article_id_for
from rag.sentence_vectors import embed_sentences
from rag.snapshot import Snapshot, holds_every_chunk
from rag.statements import StatementIndex
from rag.store import Store
from rag.stored_vectors import StoredVectors

QUESTIONS = ["What did Quillfeather propose?", "Which peak spewed molten rock?",
             "tram line council", "strike at the port"]


def new_retriever(services: Services, **settings: object) -> Retriever:
    """A retriever as a freshly started process has it: nothing in memory yet."""
    engine = services.engine
    return Retriever(engine.store, engine.encoder, engine.settings.model_copy(update=settings))


def ranking(retriever: Retriever, question: str) -> list[tuple[str, float, float]]:
    return [(h.chunk.id, round(h.dense, 5), round(h.lexical, 5))
            for h in retriever.search(question, top_k=8).hits]


def saved(retriever: Retriever) -> list[str]:
    root = retriever.snapshot_root()
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


def forbid_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object) -> None:
        raise AssertionError("the snapshot was rebuilt instead of loaded")

    monkeypatch.setattr(Snapshot, "build", classmethod(fail))


def count_builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    builds: list[int] = []
    original = Snapshot.build.__func__

    def counted(cls: type[Snapshot], *args: object) -> Snapshot:
        builds.append(1)
        return original(cls, *args)

    monkeypatch.setattr(Snapshot, "build", classmethod(counted))
    return builds


def glacier(text: str = "Surveyors said the Brennholt glacier retreated sixty metres.") -> tuple:
    article = Article(id=article_id_for(text), text=text, title="Glacier", source="Wire",
                      published=dt.date(2024, 7, 2))
    chunk = Chunk(id=f"{article.id}:0", article_id=article.id, ordinal=0, text=text, start=0,
                  end=len(text), title="Glacier", source="Wire", published=article.published)
    return article, chunk


def test_a_restart_on_an_unchanged_store_loads_the_saved_snapshot(
        fresh_small: tuple[Services, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    services, _ = fresh_small
    first = new_retriever(services)
    expected = {q: ranking(first, q) for q in QUESTIONS}
    assert len(saved(first)) == 1
    forbid_builds(monkeypatch)
    restarted = new_retriever(services)
    assert {q: ranking(restarted, q) for q in QUESTIONS} == expected
    assert list(restarted.lexical.chunks) == list(first.lexical.chunks)
    assert saved(restarted) == saved(first)


def test_a_store_changed_since_is_brought_up_to_date_from_the_saved_snapshot(
        fresh_small: tuple[Services, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    services, ids = fresh_small
    engine = services.engine
    before = saved(new_retriever(services))
    # Another process (a second handle on the same data dir) writes while none is running.
    article, chunk = glacier()
    other = Store.open(engine.settings)
    other.add_article(article, [chunk], engine.encoder.embed([chunk.text]))
    other.delete_article(ids["volcano.json"])
    builds = count_builds(monkeypatch)
    restarted = new_retriever(services)
    assert builds == []  # the saved snapshot was updated, not the store read whole
    assert restarted.search("How far did the Brennholt glacier retreat?").hits[0].chunk == chunk
    assert ids["volcano.json"] not in restarted.refresh().corpus.articles.tolist()
    after = saved(restarted)
    assert len(after) == 1 and after != before
    assert_same_search(restarted.refresh(), Snapshot.build(other, other.revision()), QUESTIONS)


def test_a_snapshot_of_another_store_at_the_same_place_is_not_brought_up_to_date(
        fresh_small: tuple[Services, dict[str, str]]) -> None:
    services, _ = fresh_small
    retriever = new_retriever(services)
    root, store = retriever.snapshot_root(), services.engine.store
    assert Snapshot.latest(root, store) is not None
    for origin in root.glob("*/origin.json"):  # as a store deleted and made anew would find
        origin.write_text(origin.read_text().replace(store.identity, "another store"))
    assert Snapshot.latest(root, store) is None


def test_a_snapshot_is_only_loaded_for_the_revision_it_was_built_at(
        fresh_small: tuple[Services, dict[str, str]]) -> None:
    services, _ = fresh_small
    retriever = new_retriever(services)
    root, revision = retriever.snapshot_root(), services.engine.store.revision()
    assert Snapshot.load(root, revision, services.engine.store) is not None
    token, articles, chunks = revision
    for other in ((token + "x", articles, chunks), (token, articles + 1, chunks),
                  (token, articles, chunks - 1)):
        assert Snapshot.load(root, other, services.engine.store) is None


def test_an_unreadable_snapshot_is_rebuilt(fresh_small: tuple[Services, dict[str, str]],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    services, _ = fresh_small
    first = new_retriever(services)
    expected = ranking(first, QUESTIONS[0])
    (name,) = saved(first)
    vectors = first.snapshot_root() / name / "vectors.npy"
    del first  # it reads the file memory-mapped: cut short under it, a read would fault
    vectors.write_bytes(vectors.read_bytes()[:100])  # truncated, as by a damaged disk
    builds = count_builds(monkeypatch)
    restarted = new_retriever(services)
    assert builds == [1]
    assert ranking(restarted, QUESTIONS[0]) == expected


def test_saving_is_atomic_and_a_second_writer_of_the_same_snapshot_is_harmless(
        fresh_small: tuple[Services, dict[str, str]]) -> None:
    services, _ = fresh_small
    retriever = new_retriever(services)
    snapshot = retriever.refresh()
    snapshot.save(retriever.snapshot_root())  # another worker saving the same revision
    assert saved(retriever) == [next(iter(saved(retriever)))]  # one, no temporary left over
    assert Snapshot.load(retriever.snapshot_root(), snapshot.revision,
                         services.engine.store) is not None


def test_an_unwritable_data_dir_costs_the_snapshot_not_the_search(
        fresh_small: tuple[Services, dict[str, str]], tmp_path: Path) -> None:
    services, _ = fresh_small
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")

    class Unwritable(Retriever):
        def snapshot_root(self) -> Path:
            return blocker / "snapshots"  # under a file: cannot be created

    engine = services.engine
    retriever = Unwritable(engine.store, engine.encoder, engine.settings)
    assert retriever.search(QUESTIONS[0]).hits
    assert blocker.is_file()


def test_the_snapshot_holds_the_vectors_chroma_holds(small_services: Services) -> None:
    retriever, store = small_services.engine.retriever, small_services.engine.store
    snapshot = retriever.refresh()
    ids = [str(i) for i in snapshot.corpus.ids]
    stored = store.chunk_vectors(ids)
    np.testing.assert_allclose(snapshot.vectors, np.stack([stored[i] for i in ids]), atol=1e-6)
    assert sorted(ids) == sorted(c.id for c in store.iter_chunks())


def test_the_corpus_round_trips_its_chunks(small_services: Services, tmp_path: Path) -> None:
    chunks = list(small_services.engine.store.iter_chunks())
    corpus = Corpus.from_chunks(chunks)
    corpus.save(tmp_path)
    loaded = Corpus.load(tmp_path)
    assert list(loaded) == chunks and len(loaded) == len(chunks)
    assert loaded[-1] == chunks[-1] and loaded[1:3] == chunks[1:3]
    assert loaded.position(chunks[2].id) == 2 and loaded.position("missing") is None
    harbour = [c.source == "Harbour Times" for c in chunks]
    assert loaded.mask(Filters(source="Harbour Times")).tolist() == harbour
    assert loaded.mask(Filters()) is None
    empty = Corpus.from_chunks([])
    empty.save(tmp_path)
    assert len(Corpus.load(tmp_path)) == 0


def assert_same_search(updated: Snapshot, rebuilt: Snapshot, questions: list[str]) -> None:
    """Two snapshots hold the same chunks and vectors, and score every chunk alike (their
    rows may be in different orders)."""
    ids = [str(i) for i in updated.corpus.ids]
    assert sorted(ids) == sorted(str(i) for i in rebuilt.corpus.ids)
    row = {chunk_id: rebuilt.corpus.position(chunk_id) for chunk_id in ids}
    order = [row[chunk_id] for chunk_id in ids]
    np.testing.assert_allclose(updated.vectors, rebuilt.vectors[order], atol=1e-6)
    assert list(updated.corpus) == [rebuilt.corpus[r] for r in order]
    sentences, theirs = updated.sentences.rows(range(len(ids))), rebuilt.sentences.rows(order)
    assert updated.sentences.held and sentences.held
    for name in ("codes", "scales", "offsets"):
        np.testing.assert_array_equal(getattr(sentences, name), getattr(theirs, name))
    for filters in (Filters(source="Harbour Times"), Filters(published_from=dt.date(2024, 3, 1)),
                    Filters(article_ids=[updated.corpus[0].article_id])):
        kept = updated.corpus.mask(filters)
        assert kept.tolist() == rebuilt.corpus.mask(filters)[order].tolist() and kept.any()
    assert updated.corpus.present_sources() == rebuilt.corpus.present_sources()
    scored = 0
    for question in questions:
        scores = updated.lexical.scores(question)
        scored += bool(scores.any())
        np.testing.assert_allclose(scores, rebuilt.lexical.scores(question)[order], rtol=1e-5)
        for term in updated.lexical.analyzer.query_terms(question):
            assert updated.lexical.idf(term) == pytest.approx(rebuilt.lexical.idf(term))
    assert scored >= len(questions) - 1  # the comparisons above mean something


def test_a_write_updates_the_snapshot_instead_of_rebuilding_it(
        fresh_small: tuple[Services, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    services, ids = fresh_small
    retriever = new_retriever(services)
    retriever.refresh()
    store = services.engine.store
    article, chunk = glacier()
    store.add_article(article, [chunk], services.engine.encoder.embed([chunk.text]))
    store.delete_article(ids["volcano.json"])
    builds = count_builds(monkeypatch)
    updated = retriever.refresh()
    assert builds == []
    assert retriever.search("How far did the Brennholt glacier retreat?").hits[0].chunk == chunk
    assert all(h.chunk.article_id != ids["volcano.json"]
               for h in retriever.search("Which peak spewed molten rock?").hits)
    rebuilt = Snapshot.build(store, store.revision())
    # "lava", "Ostrova" and "plume" were only in the deleted story: the updated index still
    # has them in its vocabulary, in no document; they must weigh as unseen terms do
    assert updated.lexical.idf("lava") == rebuilt.lexical.idf("lava") > rebuilt.lexical.idf("port")
    assert_same_search(updated, rebuilt, [q for q in QUESTIONS if "peak" not in q]
                       + ["Brennholt glacier retreated", "lava on Ostrova"])
    # a restart loads what the update saved
    forbid_builds(monkeypatch)
    assert_same_search(new_retriever(services).refresh(), rebuilt, QUESTIONS)


def test_an_update_needs_no_saved_files(
        fresh_small: tuple[Services, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    # The analysed texts an update extends are held by the index (in memory, or mapped from
    # the files they were loaded from), so another process pruning the files changes nothing.
    services, _ = fresh_small
    retriever = new_retriever(services)
    retriever.refresh()
    for path in retriever.snapshot_root().iterdir():  # another process pruned it
        for file in path.iterdir():
            file.unlink()
    article, chunk = glacier()
    services.engine.store.add_article(article, [chunk],
                                      services.engine.encoder.embed([chunk.text]))
    builds = count_builds(monkeypatch)
    assert retriever.search("How far did the Brennholt glacier retreat?").hits[0].chunk == chunk
    assert builds == []


def test_adding_more_than_the_store_held_rebuilds(
        tmp_path: Path, fresh_small: tuple[Services, dict[str, str]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    services, _ = fresh_small
    store = services.engine.store
    retriever = new_retriever(services)
    held = len(retriever.refresh().corpus)
    texts = [f"Surveyors said glacier number {n} retreated {n + 10} metres this summer."
             for n in range(held)]
    store.add_articles([(glacier(text)[0], [glacier(text)[1]],
                         services.engine.encoder.embed([text])) for text in texts])
    builds = count_builds(monkeypatch)
    assert len(retriever.refresh().corpus) == 2 * held
    assert builds == [1]


def test_a_start_sweeps_orphans_only_when_no_saved_snapshot_vouches_there_are_none(
        fresh_small: tuple[Services, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    services, _ = fresh_small
    engine = services.engine
    retriever = new_retriever(services)
    root, revision = retriever.snapshot_root(), engine.store.revision()
    assert holds_every_chunk(root, revision)
    sweeps: list[float] = []
    original = Store.repair

    def counted(store: Store, grace_seconds: float = 0.0) -> int:
        sweeps.append(grace_seconds)
        return original(store, grace_seconds)

    monkeypatch.setattr(Store, "repair", counted)
    Services.build(services.settings)
    assert sweeps == []  # nothing to sweep: the store's records need not be read
    # A write killed between its chunks and its record: the revision's counts move on.
    _, chunk = glacier()
    engine.store.write_chunks([chunk], engine.encoder.embed([chunk.text]))
    assert not holds_every_chunk(root, engine.store.revision())
    restarted = Services.build(services.settings)
    assert sweeps == [0.0] and restarted.engine.store.chunk_count() == revision[2]


def appending(monkeypatch: pytest.MonkeyPatch) -> None:
    """Articles are appended however few the snapshot holds (the fixture store is small)."""
    monkeypatch.setattr("rag.snapshot.APPEND_MAX_SHARE", 1.0)

    def fail(*args: object) -> None:
        raise AssertionError("the snapshot was indexed anew instead of appended to")

    monkeypatch.setattr(Snapshot, "update", classmethod(fail))
    monkeypatch.setattr(Snapshot, "build", classmethod(fail))


def top_ids(retriever: Retriever, question: str) -> list[str]:
    return [h.chunk.id for h in retriever.search(question, top_k=5).hits]


def test_an_added_article_is_searched_beside_the_snapshot_it_was_added_to(
        fresh_small: tuple[Services, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    services, _ = fresh_small
    store, encoder = services.engine.store, services.engine.encoder
    retriever = new_retriever(services)
    before = retriever.refresh()
    files = saved(retriever)
    appending(monkeypatch)
    article, chunk = glacier()
    store.add_articles([(article, [chunk], encoder.embed([chunk.text]))],
                       sentences=embed_sentences(encoder, [chunk]))
    appended = retriever.refresh()
    assert appended.base is before and len(appended.corpus) == len(before.corpus) + 1
    assert retriever.search("How far did the Brennholt glacier retreat?").hits[0].chunk == chunk
    assert retriever.search("Brennholt", filters=Filters(source="Wire")).hits[0].chunk == chunk
    harbour = retriever.search("Brennholt", filters=Filters(source="Harbour Times")).hits
    assert harbour and {h.chunk.source for h in harbour} == {"Harbour Times"}
    # What the base holds is scored as before; the added chunk's vector is the store's.
    for question in QUESTIONS:
        np.testing.assert_array_equal(appended.lexical.scores(question)[: len(before.corpus)],
                                      before.lexical.scores(question))
    row = appended.corpus.position(chunk.id)
    np.testing.assert_allclose(appended.vectors[np.array([row])][0],
                               store.chunk_vectors([chunk.id])[chunk.id], atol=1e-6)
    assert appended.sentences.best_cosines([row], encoder.embed(["glacier"])).item() > 0.3
    assert saved(retriever) == files  # only the base is saved
    assert holds_every_chunk(retriever.snapshot_root(), store.revision())
    # A second article is appended to the same base; the top passages for the other
    # questions are the ones a snapshot indexed anew finds.
    second, more = glacier("Rangers counted four hundred ibex above the Vordkar pass.")
    store.add_article(second, [more], encoder.embed([more.text]))
    assert retriever.refresh().base is before
    assert top_ids(retriever, "How many ibex did rangers count?")[0] == more.id
    assert holds_every_chunk(retriever.snapshot_root(), store.revision())
    assert len(list(retriever.snapshot_root().glob("*/whole-*"))) == 1  # the newest only
    monkeypatch.undo()  # two articles added to eleven: past the share, indexed anew
    rebuilt = new_retriever(services)
    assert rebuilt.refresh().base is None
    for question in QUESTIONS:
        assert top_ids(retriever, question) == top_ids(rebuilt, question)


def test_a_restart_appends_what_was_added_since_the_saved_snapshot(
        fresh_small: tuple[Services, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    services, _ = fresh_small
    store, encoder = services.engine.store, services.engine.encoder
    new_retriever(services).refresh()
    appending(monkeypatch)
    article, chunk = glacier()
    store.add_article(article, [chunk], encoder.embed([chunk.text]))
    restarted = new_retriever(services)
    assert restarted.refresh().base is not None
    assert restarted.search("How far did the Brennholt glacier retreat?").hits[0].chunk == chunk


def test_a_deletion_after_an_append_indexes_the_snapshot_anew(
        fresh_small: tuple[Services, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    services, ids = fresh_small
    store, encoder = services.engine.store, services.engine.encoder
    retriever = new_retriever(services)
    retriever.refresh()
    monkeypatch.setattr("rag.snapshot.APPEND_MAX_SHARE", 1.0)
    article, chunk = glacier()
    store.add_article(article, [chunk], encoder.embed([chunk.text]))
    assert retriever.refresh().base is not None
    store.delete_article(ids["volcano.json"])
    updated = retriever.refresh()
    assert updated.base is None  # and saved for the next start
    assert Snapshot.load(retriever.snapshot_root(), store.revision(), store) is not None
    assert_same_search(updated, Snapshot.build(store, store.revision()),
                       [q for q in QUESTIONS if "peak" not in q] + ["Brennholt glacier"])


def test_answers_and_statements_read_the_articles_appended(
        fresh_small: tuple[Services, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    services, _ = fresh_small
    engine = services.engine
    engine.retriever.refresh()
    before = engine.statements()
    appending(monkeypatch)
    text = ("The harbour master, Ilse Marrowgate, said on Tuesday that the new breakwater "
            "would be finished by June. \"The breakwater will protect the fishing fleet from "
            "winter storms,\" Marrowgate said.")
    services.ingestor.ingest_documents([Document(
        kind="record", title="Breakwater due in June", source="Coast Weekly",
        published=dt.date(2024, 6, 3), text=text)])
    assert engine.retriever.refresh().base is not None
    answer = engine.ask("What did Marrowgate say about the breakwater?")
    assert answer.citations and {c.source for c in answer.citations} == {"Coast Weekly"}
    said = engine.find_statements(speaker="Marrowgate")
    assert said and all("breakwater" in s.text.lower() for s in said)
    # The statements read before are taken as they were, and the index is the one read anew.
    after = engine.statements()
    held = {id(item) for speaker in after.speakers for item in speaker.said}
    assert all(id(item) in held for speaker in before.speakers for item in speaker.said)
    anew = StatementIndex.from_corpus(engine.retriever.refresh().corpus)
    assert grouped(after) == grouped(anew) and len(after.speakers) > len(before.speakers)


def grouped(index: StatementIndex) -> list[tuple]:
    return [(s.name, s.organisation, [(i.article_id, i.statement.start, i.position)
                                      for i in s.said], s.memberships) for s in index.speakers]


def test_above_the_exact_scan_limit_chunk_vectors_are_read_from_the_store(
        fresh_small: tuple[Services, dict[str, str]]) -> None:
    services, _ = fresh_small
    store = services.engine.store
    scanning = new_retriever(services)
    expected = {q: top_ids(scanning, q) for q in QUESTIONS}
    held = scanning.refresh().vectors
    assert isinstance(held, np.ndarray)
    article, chunk = glacier()  # a new revision: the snapshot is saved anew
    store.add_article(article, [chunk], services.engine.encoder.embed([chunk.text]))
    reading = new_retriever(services, exact_search_max_chunks=0)
    snapshot = reading.refresh()
    assert isinstance(snapshot.vectors, StoredVectors)
    (saved_dir,) = [reading.snapshot_root() / name for name in saved(reading)]
    assert not (saved_dir / "vectors.npy").exists()  # Chroma's index holds them already
    rows = np.array([snapshot.corpus.position(chunk.id), 0, 3])
    stored = store.chunk_vectors([str(snapshot.corpus.ids[r]) for r in rows])
    np.testing.assert_array_equal(snapshot.vectors[rows],
                                  np.stack([stored[str(snapshot.corpus.ids[r])] for r in rows]))
    assert reading.search("How far did the Brennholt glacier retreat?").hits[0].chunk == chunk
    # A start that scans them all again holds them again, read once.
    rescanning = new_retriever(services)
    assert isinstance(rescanning.refresh().vectors, np.ndarray)
    store.delete_article(article.id)
    again = new_retriever(services, exact_search_max_chunks=0)
    assert {q: top_ids(again, q) for q in QUESTIONS} == expected


def test_a_search_reads_only_the_vectors_its_dense_side_did_not_score(
        fresh_small: tuple[Services, dict[str, str]]) -> None:
    services, _ = fresh_small
    store = services.engine.store
    article, chunk = glacier()  # a new revision: a snapshot above the limit is built
    store.add_article(article, [chunk], services.engine.encoder.embed([chunk.text]))
    reading = new_retriever(services, exact_search_max_chunks=0, candidates=1)
    snapshot = reading.refresh()
    assert isinstance(snapshot.vectors, StoredVectors)
    asked: list[list[str]] = []
    snapshot.vectors._read = lambda ids: asked.append(ids) or store.chunk_vectors(ids)
    requests = 0
    # The last one's words name one article (Quillfeather's) and its meaning another.
    for question in [*QUESTIONS, "Quillfeather volcano eruption", "Brennholt port strike"]:
        asked.clear()
        query = reading.read(question, snapshot)
        dense = {i for i, _ in store.nearest(query.vector, 1)}
        hits = reading.search(query).hits
        # The lexical side's rows only, in one request (none when the dense side found them).
        assert not {i for ids in asked for i in ids} & dense and len(asked) <= 1
        requests += len(asked)
        stored = store.chunk_vectors([h.chunk.id for h in hits])
        for hit in hits:  # Chroma's cosine or the product: the same to float32's precision
            assert hit.dense == pytest.approx(float(stored[hit.chunk.id] @ query.vector),
                                              abs=1e-5)
    assert requests  # some question's lexical side found rows its dense side did not


def test_a_loaded_snapshot_names_the_files_it_reads_in_place(
        fresh_small: tuple[Services, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    services, _ = fresh_small
    store, encoder = services.engine.store, services.engine.encoder
    first = new_retriever(services)
    (directory,) = first.snapshot_root().glob("*/columns.npz")
    files = sorted(directory.parent.iterdir(), key=lambda p: p.stat().st_size)
    restarted = new_retriever(services)
    loaded = restarted.refresh()
    assert loaded.saved_files() == files
    assert restarted.warm_page_cache() == sum(p.stat().st_size for p in files)
    # An appended snapshot reads its base's files; one built in memory reads none.
    appending(monkeypatch)
    article, chunk = glacier()
    store.add_article(article, [chunk], encoder.embed([chunk.text]))
    assert restarted.refresh().base is loaded
    assert set(restarted.refresh().saved_files()) == set(directory.parent.iterdir())
    monkeypatch.undo()
    assert Snapshot.build(store, store.revision()).saved_files() == []
