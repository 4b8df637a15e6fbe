"""Hybrid retrieval over the small hand-written corpus (tests/rag/conftest.py): rare names,
paraphrases only the dense side can match, top_k, per-article diversity, filters, the fusion
weight, and the lexical index following the store's writes."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from api.services import Services
from index.load import Document
from rag.retrieve import Retriever
from rag.schemas import Article, Chunk, Filters, Hit, article_id_for
from rag.store import Store


def articles_of(hits: list[Hit]) -> list[str]:
    return [h.chunk.article_id for h in hits]


def retriever_with(services: Services, **settings: object) -> Retriever:
    """A second retriever over the same store, with some settings changed."""
    engine = services.engine
    return Retriever(engine.store, engine.encoder,
                     engine.settings.model_copy(update=settings))


def test_a_rare_name_finds_its_article_first(small_services: Services,
                                             ids: dict[str, str]) -> None:
    retriever = small_services.engine.retriever
    hits = retriever.search("What did Quillfeather propose?").hits
    assert hits[0].chunk.article_id == ids["budget.json"]
    assert hits[0].lexical > 0 and all(h.lexical == 0 for h in hits[1:])
    hits = retriever.search("Who leads the union at Port Averin?").hits
    assert hits[0].chunk.article_id == ids["port.json"]


def test_a_paraphrase_sharing_no_words_is_found_by_the_dense_side(
        small_services: Services, ids: dict[str, str]) -> None:
    retriever = small_services.engine.retriever
    question = "Which peak spewed molten rock?"
    # By construction no content word of the question is in any chunk, title or outlet.
    assert not retriever.lexical.scores(question).any()
    hits = retriever.search(question, top_k=3).hits
    assert ids["volcano.json"] in articles_of(hits)
    assert all(h.lexical == 0 for h in hits)


def test_top_k_is_respected(small_services: Services) -> None:
    retriever = small_services.engine.retriever
    for top_k in (1, 2, 5):
        assert len(retriever.search("tram line council", top_k=top_k).hits) == top_k
    default = small_services.settings.top_k
    assert len(retriever.search("tram line council").hits) == default


def test_hits_are_ranked_one_to_n_with_descending_scores(small_services: Services) -> None:
    hits = small_services.engine.retriever.search("strike at the port", top_k=8).hits
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(s > 0.0 for s in scores)
    # No outlet or date is named: the fused score is a blend of two scores scaled to [0, 1].
    assert all(0.0 <= h.fused <= 1.0 for h in hits)
    assert len({h.chunk.id for h in hits}) == len(hits)


def test_at_most_max_chunks_per_article(small_services: Services,
                                        ids: dict[str, str]) -> None:
    store = small_services.engine.store
    tram = ids["tram.json"]
    cap = small_services.settings.max_chunks_per_article
    assert len(store.chunks_of(tram)) > cap  # the cap has something to cut
    question = "tram line tram tracks tram route tram passengers"
    hits = small_services.engine.retriever.search(question, top_k=10).hits
    assert articles_of(hits).count(tram) == cap
    assert articles_of(hits)[:cap] == [tram] * cap
    tighter = retriever_with(small_services, max_chunks_per_article=1)
    hits = tighter.search(question, top_k=10).hits
    assert articles_of(hits).count(tram) == 1
    assert len(set(articles_of(hits))) == len(hits)


# The dense pool comes from a scan of the vectors in memory (small stores) or from Chroma's HNSW
# index (above `exact_search_max_chunks`); both must honour the filters.
DENSE_MODES = pytest.mark.parametrize("exact_max", [20_000, 0], ids=["exact", "hnsw"])


@DENSE_MODES
def test_filters_restrict_the_results(small_services: Services, ids: dict[str, str],
                                      exact_max: int) -> None:
    retriever = retriever_with(small_services, exact_search_max_chunks=exact_max)
    question = "workers strike flood rescue"
    by_source = retriever.search(question, top_k=10, filters=Filters(source="Harbour Times"))
    assert set(articles_of(by_source.hits)) == {ids["port.json"], ids["flood.json"]}

    # March through April 2024 holds the strike (4 March) and the flood (20 April) only;
    # the undated beetle story is outside every date range.
    spring = Filters(published_from=dt.date(2024, 3, 1), published_to=dt.date(2024, 4, 30))
    in_spring = retriever.search("beetle species strike flood", top_k=10, filters=spring)
    assert set(articles_of(in_spring.hits)) == {ids["port.json"], ids["flood.json"]}
    later = retriever.search("beetle", top_k=10,
                             filters=Filters(published_from=dt.date(2024, 5, 1)))
    assert set(articles_of(later.hits)) == {ids["budget.json"], ids["tram.json"]}

    chosen = [ids["bakery.json"], ids["beetle.json"]]
    by_id = retriever.search("strike at Port Averin", top_k=10,
                             filters=Filters(article_ids=chosen))
    assert set(articles_of(by_id.hits)) == set(chosen)

    nothing = retriever.search("strike", filters=Filters(source="No Such Outlet"))
    assert nothing.hits == []


def test_dense_weight_moves_the_ranking_between_lexical_and_dense(
        small_services: Services, ids: dict[str, str]) -> None:
    # The only question word in the corpus is "Thornbury", in the bakery story; the meaning
    # (a flood) is the flood story's, which never names the town.
    question = "Thornbury floods: deluge submerges houses"
    # Fusion alone: the second stage (re-ranking by sentence coverage) is turned off.
    lexical_only = retriever_with(small_services, dense_weight=0.0,
                                  rerank_depth=0).search(question, top_k=3)
    dense_only = retriever_with(small_services, dense_weight=1.0,
                                rerank_depth=0).search(question, top_k=3)
    assert lexical_only.hits[0].chunk.article_id == ids["bakery.json"]
    assert dense_only.hits[0].chunk.article_id == ids["flood.json"]
    # Weight 0 orders by BM25 alone, weight 1 by cosine alone.
    assert lexical_only.hits[0].lexical > 0
    assert all(h.lexical == 0 for h in lexical_only.hits[1:])
    cosines = [h.dense for h in dense_only.hits]
    assert cosines == sorted(cosines, reverse=True)
    top = dense_only.hits[0].chunk.id
    stored = small_services.engine.store.chunk_vectors([top])[top]
    assert float(stored @ dense_only.query_vector) == pytest.approx(cosines[0], abs=1e-3)


def test_the_query_vector_is_returned_for_reuse(small_services: Services) -> None:
    engine = small_services.engine
    result = engine.retriever.search("tram depot")
    expected = engine.text_encoder.embed(["tram depot"])[0]
    assert result.query_vector.shape == (384,)
    assert float(np.dot(result.query_vector, expected)) > 0.999
    # The int8 question encoder, close to the documents' encoder but not the same model run.
    assert engine.text_encoder is not engine.encoder
    assert float(np.dot(result.query_vector, engine.encoder.embed(["tram depot"])[0])) > 0.98


def test_the_lexical_index_follows_deletes_and_additions(
        fresh_small: tuple[Services, dict[str, str]]) -> None:
    services, ids = fresh_small
    store, retriever = services.engine.store, services.engine.retriever
    question = "What did Quillfeather propose?"
    assert retriever.search(question).hits[0].chunk.article_id == ids["budget.json"]

    generation = store.generation
    store.delete_article(ids["budget.json"])
    assert store.generation > generation
    hits = retriever.search(question, top_k=20).hits
    assert ids["budget.json"] not in articles_of(hits)
    assert all(h.lexical == 0 for h in hits)
    assert len(retriever.lexical) == store.chunk_count()
    assert ids["budget.json"] not in {c.article_id for c in retriever.lexical.chunks}

    report = services.ingestor.ingest_documents([Document(
        kind="record", path="glacier.json", title="Glacier retreat measured",
        source="Science Wire", published=dt.date(2024, 7, 2),
        text="Surveyors said the Halvorsen glacier lost forty metres of ice this summer.",
    )])
    glacier = report.added[0].id
    hits = retriever.search("How much ice did the Halvorsen glacier lose?").hits
    assert hits[0].chunk.article_id == glacier and hits[0].lexical > 0
    assert len(retriever.lexical) == store.chunk_count()


def test_an_empty_store_returns_no_hits(fresh_services: Services) -> None:
    result = fresh_services.engine.retriever.search("anything at all")
    assert result.hits == []
    assert result.query_vector.shape == (384,)


def test_the_lexical_index_follows_writes_made_by_another_process(
        fresh_small: tuple[Services, dict[str, str]]) -> None:
    services, _ = fresh_small
    engine = services.engine
    # A second handle on the same store stands for another replica: its writes never touch
    # this process's `generation`, only the store's revision.
    other = Store.open(engine.settings)
    retriever = Retriever(engine.store, engine.encoder,
                          engine.settings.model_copy(update={"snapshot_refresh_seconds": 0}))
    question = "How far did the Brennholt glacier retreat?"
    text = "Surveyors said the Brennholt glacier retreated sixty metres this summer."
    article = Article(id=article_id_for(text), text=text, title="Glacier", source="Wire")
    chunk = Chunk(id=f"{article.id}:0", article_id=article.id, ordinal=0, text=text, start=0,
                  end=len(text), title="Glacier", source="Wire")
    other.add_article(article, [chunk], engine.encoder.embed([text]))
    hits = retriever.search(question).hits
    assert hits[0].chunk.article_id == article.id and hits[0].lexical > 0

    # A store other processes write to is a Chroma server's (the URL only tells the retriever
    # that replicas share the store; several workers need one too).
    waiting = [Retriever(engine.store, engine.encoder, engine.settings.model_copy(
                   update={"snapshot_refresh_seconds": 3600,
                           "chroma_url": "http://shared-chroma:8000"}))]
    other.delete_article(article.id)
    assert article.id not in articles_of(retriever.search(question).hits)
    assert article.id not in {c.article_id for c in retriever.lexical.chunks}
    for lagging in waiting:
        # Within its refresh interval it still has the article in its snapshot, but never
        # cites an article that is no longer stored.
        assert article.id not in articles_of(lagging.search(question).hits)
        assert article.id in {c.article_id for c in lagging.lexical.chunks}


def test_a_named_date_favours_the_report_published_then(fresh_services) -> None:
    import datetime as dt

    from index.load import Document

    body = ("The Harbour Board met to discuss the dredging contract for the northern channel. "
            "Members reviewed the tender and the cost estimates once more.")
    fresh_services.ingestor.ingest_documents([
        Document(text=body + " Session one.", kind="record", title="Harbour Board meets",
                 source="Coast Wire", published=dt.date(2025, 3, 3)),
        Document(text=body + " Session two.", kind="record", title="Harbour Board meets",
                 source="Coast Wire", published=dt.date(2025, 6, 9)),
    ])
    retriever = fresh_services.engine.retriever
    for date, label in ((dt.date(2025, 3, 3), "March 3, 2025"), (dt.date(2025, 6, 9),
                                                                  "June 9, 2025")):
        hits = retriever.search(f"What did the Harbour Board discuss on {label}?").hits
        assert hits[0].chunk.published == date


def test_the_exact_scan_ranks_as_chromas_index_does(small_services: Services) -> None:
    engine = small_services.engine
    snapshot = engine.retriever.refresh()
    exact = retriever_with(small_services, dense_weight=1.0)
    hnsw = retriever_with(small_services, dense_weight=1.0, exact_search_max_chunks=0)
    for question in ("Which peak spewed molten rock?", "strike at the port",
                     "Thornbury floods: deluge submerges houses", "budget levy on banks"):
        vector = engine.encoder.embed([question])[0]
        cosines = snapshot.vectors @ vector
        by_scan = [str(snapshot.corpus.ids[i]) for i in np.argsort(-cosines)[:10]]
        by_chroma = engine.store.nearest(vector, 10)
        assert by_scan == [i for i, _ in by_chroma]
        np.testing.assert_allclose(np.sort(cosines)[::-1][:10], [c for _, c in by_chroma],
                                   atol=1e-4)
        assert ([(h.chunk.id, round(h.dense, 4)) for h in exact.search(question).hits]
                == [(h.chunk.id, round(h.dense, 4)) for h in hnsw.search(question).hits])


@DENSE_MODES
def test_orphan_chunks_are_never_returned(fresh_small: tuple[Services, dict[str, str]],
                                          exact_max: int) -> None:
    services, _ = fresh_small
    engine = services.engine
    text = "Orphaned chunk about the Wexmoor lighthouse keeper and his telescope."
    article = Article(id=article_id_for(text), text=text, title="Lighthouse", source="Wire")
    chunk = Chunk(id=f"{article.id}:0", article_id=article.id, ordinal=0, text=text, start=0,
                  end=len(text), title="Lighthouse", source="Wire")
    # A write killed between its chunks and its record: the chunk is in Chroma, uncommitted.
    engine.store.write_chunks([chunk], engine.encoder.embed([text]))
    retriever = retriever_with(services, exact_search_max_chunks=exact_max)
    hits = retriever.search("Wexmoor lighthouse keeper telescope", top_k=10).hits
    assert hits and article.id not in articles_of(hits)


def test_another_processes_write_is_found_by_the_dense_side_after_a_refresh(
        fresh_small: tuple[Services, dict[str, str]]) -> None:
    services, _ = fresh_small
    engine = services.engine
    retriever = retriever_with(services, snapshot_refresh_seconds=0)
    text = "Lava poured from the Quarnhold volcano and ash closed the airport."
    article = Article(id=article_id_for(text), text=text, title="Eruption", source="Wire")
    chunk = Chunk(id=f"{article.id}:0", article_id=article.id, ordinal=0, text=text, start=0,
                  end=len(text), title="Eruption", source="Wire")
    Store.open(engine.settings).add_article(article, [chunk], engine.encoder.embed([text]))
    question = "molten rock spewed by a mountain"  # no word of it is in the new chunk
    hits = retriever.search(question, top_k=10).hits
    found = next(h for h in hits if h.chunk.article_id == article.id)
    assert found.lexical == 0 and found.dense > 0.3


def test_a_snapshot_read_that_fails_is_retried_then_the_previous_one_serves(
        fresh_services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """A read of the store can fail midway when another process changes it (Chroma raised
    `InternalError: Error finding id` in `_pages`): the read is tried again, and if it keeps
    failing searches go on with the snapshot held, never with an error."""
    from chromadb.errors import InternalError

    import rag.retrieve

    monkeypatch.setattr(rag.retrieve, "REFRESH_BACKOFF_SECONDS", 0.0)
    store = fresh_services.engine.store
    retriever = retriever_with(fresh_services, snapshot_refresh_seconds=0)
    ingest = fresh_services.ingestor.ingest_documents
    ingest([Document(kind="record", title="Ferry", text="The Ostrel ferry adds a night crossing.")])
    failures = {"left": 1}
    real_revision = store.revision

    def flaky_revision():
        if failures["left"]:
            failures["left"] -= 1
            raise InternalError("Error finding id")
        return real_revision()

    monkeypatch.setattr(store, "revision", flaky_revision)
    assert articles_of(retriever.search("night crossing ferry").hits)  # retried, then served
    assert failures["left"] == 0

    failures["left"] = 10**6  # the store stays unreadable
    held = retriever.refresh()
    ingest([Document(kind="record", title="Quay", text="Quay four closes for repairs.")])
    assert retriever.refresh() is held and retriever.ready
    assert articles_of(retriever.search("night crossing ferry").hits)

    monkeypatch.setattr(store, "revision", real_revision)  # readable again: caught up
    assert "Quay" in {h.chunk.title for h in retriever.search("quay repairs").hits}


def test_without_any_snapshot_an_unreadable_store_is_an_error(
        fresh_services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    from chromadb.errors import InternalError

    import rag.retrieve
    from rag.retrieve import SnapshotUnavailable

    monkeypatch.setattr(rag.retrieve, "REFRESH_BACKOFF_SECONDS", 0.0)

    def broken():
        raise InternalError("Error getting embedding")

    monkeypatch.setattr(fresh_services.engine.store, "revision", broken)
    with pytest.raises(SnapshotUnavailable, match="Error getting embedding"):
        retriever_with(fresh_services)
