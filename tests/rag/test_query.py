"""A question read once (rag/query.py): each reading is the one the question functions give,
made on first use and kept; searching a reading is searching its text; the engine answers
from one snapshot a question."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from api.services import Services
from rag.coverage import term_weights
from rag.embeddings import embed_with_parts
from rag.query import Query, clauses, mentioned_outlets
from rag.question import dates_in, names_in, speech_of, speech_question, who_said
from rag.schemas import Filters
from rag.snapshot import Snapshot
from support import needs_shared

COMPOUND = ("What did Marta Kessling say about the Port Averin strike on 4 March 2024, as the "
            "Harbour Times reported, and what did Aurelia Quillfeather propose?")


def read(services: Services, text: str) -> Query:
    return services.engine.retriever.read(text)


def test_each_reading_is_what_the_question_functions_give(small_services: Services) -> None:
    query = read(small_services, COMPOUND)
    lexical = query.lexical
    assert query.weights == term_weights(COMPOUND, lexical) and query.weights
    assert query.clauses == clauses(COMPOUND, lexical) and len(query.clauses) >= 2
    assert query.dates == dates_in(COMPOUND) == [dt.date(2024, 3, 4)]
    assert query.outlets == mentioned_outlets(COMPOUND, lexical.outlet_names())
    assert ["Harbour Times"] in query.outlets
    assert query.names == names_in(COMPOUND) and "Marta Kessling" in query.names
    assert query.speech == speech_of(COMPOUND) and query.speech.subject == "Marta Kessling"
    assert query.speaker == speech_question(COMPOUND, lexical.outlet_names())
    assert query.claim == who_said(COMPOUND) is None


def test_the_vectors_are_the_question_and_its_clauses_embedded_together(
        small_services: Services) -> None:
    query = read(small_services, COMPOUND)
    encoder = small_services.engine.retriever.encoder
    if query.by_sentence:
        vector, parts = embed_with_parts(encoder, COMPOUND, [c.span for c in query.clauses])
        assert np.array_equal(query.clause_vectors, parts)
        assert query.clause_vectors.shape[0] == len(query.clauses)
    else:
        vector = encoder.embed([COMPOUND])[0]
        assert query.clause_vectors is None
    assert np.array_equal(query.vector, vector)


def test_each_reading_is_made_once_and_kept(small_services: Services) -> None:
    query = read(small_services, COMPOUND)
    assert query.weights is query.weights
    assert query.clauses is query.clauses
    assert query.speech is query.speech
    assert query.vector is query.vector


def test_a_question_read_without_an_encoder_has_words_but_no_vector(
        small_services: Services) -> None:
    lexical = small_services.engine.retriever.refresh().lexical
    query = Query.read(COMPOUND, lexical)
    assert query.weights == term_weights(COMPOUND, lexical)
    with pytest.raises(ValueError, match="no vector"):
        _ = query.vector
    assert Query.read(query, lexical) is query


@pytest.mark.parametrize("filters", [None, Filters(source=["Harbour Times"])])
def test_searching_a_reading_is_searching_its_text(small_services: Services,
                                                   filters: Filters | None) -> None:
    retriever = small_services.engine.retriever
    for text in (COMPOUND, "What did Quillfeather propose?", "Who leads the union?"):
        by_text = retriever.search(text, 5, filters)
        by_reading = retriever.search(retriever.read(text), 5, filters)
        assert by_reading.hits == by_text.hits and by_text.hits
        assert np.array_equal(by_reading.query_vector, by_text.query_vector)


def test_a_reading_over_no_snapshot_is_not_searched_by_a_retriever(
        small_services: Services) -> None:
    retriever = small_services.engine.retriever
    query = Query(COMPOUND, retriever.refresh().lexical, retriever.encoder)
    with pytest.raises(ValueError, match="no snapshot"):
        retriever.search(query)


@needs_shared
@pytest.mark.parametrize("question", [
    "What did Asif say about the Khyber Pakhtunkhwa government?",
    "What did Khawaja Asif tell Daily Sabah about the border?",
    "Does the TechCrunch article suggest that Apple restricted apps?",
    "According to Arab News, what did the minister say?",
    "Who said that terrorism fell?",
    "Where were the joint Pakistan-US counterterrorism drills held?",
])
def test_the_who_said_what_reading_is_the_speech_rules(news_services: Services,
                                                      question: str) -> None:
    query = read(news_services, question)
    outlets = query.lexical.outlet_names()
    assert query.speaker == speech_question(question, outlets)
    assert query.claim == who_said(question)
    assert query.asks_who_said_what == (query.speaker is not None or query.claim is not None)


@needs_shared
@pytest.mark.parametrize("question", [
    "Where were the joint Pakistan-US counterterrorism drills held?",
    "What did Asif say about the Khyber Pakhtunkhwa government?",
    "What did the minister say about the border in 2024?",
    "What happened in the drought in 2025?",
])
def test_a_question_is_answered_from_one_snapshot(news_services: Services, question: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    retriever = news_services.engine.retriever
    taken: list[Snapshot] = []
    refresh = retriever.refresh

    def counted() -> Snapshot:
        taken.append(refresh())
        return taken[-1]

    monkeypatch.setattr(retriever, "refresh", counted)
    answer = news_services.engine.ask(question)
    assert answer.contexts or answer.abstained
    assert len(taken) == 1
