"""The extractive answerer: term weights and coverage, sentence selection, citations that point
at exact article spans, and abstention."""

from __future__ import annotations

import math
import re

import pytest

from api.services import Services
from rag.answer import (
    ABSTENTION,
    Candidate,
    answer_extractive,
    compose,
    coverage,
    score_sentences,
    select_sentences,
    term_weights,
)
from rag.lexical import LexicalIndex
from rag.schemas import Chunk, Hit

MARKER = re.compile(r"\[(\d+)\]")
SENTENCE = re.compile(r"\S[^.]*\.?")


def hand_chunk(chunk_id: str, text: str, article: str | None = None, start: int = 0) -> Chunk:
    """A chunk whose sentences end at each '.' (offsets as if the article began at start)."""
    spans = [(start + m.start(), start + m.end()) for m in SENTENCE.finditer(text)]
    return Chunk(id=chunk_id, article_id=article or chunk_id, ordinal=0, text=text,
                 start=start, end=start + len(text), sentences=tuple(spans))


# ---- term weights and coverage ---------------------------------------------------------

def test_term_weights_are_the_idf_of_content_terms_without_framing_words() -> None:
    index = LexicalIndex([
        hand_chunk("a", "Dockworkers went on strike at the port"),
        hand_chunk("b", "The port reopened after the strike"),
        hand_chunk("c", "Farmers sold their harvest"),
        hand_chunk("d", "Bankers met"),
    ])
    weights = term_weights("How many dockworkers said the port strike happened?", index)
    # "how"/"the" are stopwords; "many", "said", "happened" frame the question.
    assert set(weights) == {"dockwork", "port", "strike"}
    documents = 4
    in_one = math.log(1 + (documents - 1 + 0.5) / (1 + 0.5))
    in_two = math.log(1 + (documents - 2 + 0.5) / (2 + 0.5))
    assert weights["dockwork"] == pytest.approx(in_one)
    assert weights["port"] == pytest.approx(in_two) == pytest.approx(math.log(2))
    assert weights["strike"] == pytest.approx(in_two)
    # A term the corpus never uses weighs more than any it does.
    unseen = term_weights("zeppelin strike", index)
    assert unseen["zeppelin"] > in_one > unseen["strike"]
    assert term_weights("How many? Explain what they said.", index) == {}


def test_coverage_is_the_weighted_share_of_terms_present() -> None:
    weights = {"strike": 2.0, "port": 1.0, "averin": 3.0}
    assert coverage(weights, {"strike", "averin", "unrelated"}) == pytest.approx(5 / 6)
    assert coverage(weights, {"port"}) == pytest.approx(1 / 6)
    assert coverage(weights, set(weights)) == pytest.approx(1.0)
    assert coverage(weights, set()) == 0.0
    assert coverage({}, {"strike"}) == 0.0


# ---- sentence selection ------------------------------------------------------------------

def candidate(chunk: Chunk, sentence: int, score: float, covered: float = 0.5) -> Candidate:
    start, end = chunk.sentences[sentence]
    return Candidate(Hit(chunk=chunk, score=score), start, end, covered, score)


def test_select_spreads_the_answer_across_articles() -> None:
    first = hand_chunk("a", "The port closed. Ships waited offshore")
    second = hand_chunk("b", "The union called a strike")
    candidates = [candidate(first, 0, 1.0), candidate(first, 1, 0.95),
                  candidate(second, 0, 0.9)]
    # 0.95 discounted once for its article (x 0.85) falls below the other article's 0.9.
    chosen = select_sentences(candidates, limit=2)
    assert [(c.hit.chunk.article_id, c.start) for c in chosen] == [("a", 0), ("b", 0)]
    assert len(select_sentences(candidates, limit=3)) == 3
    assert select_sentences([], limit=3) == []


def test_select_keeps_only_sentences_that_cover_the_question_near_the_best() -> None:
    chunk = hand_chunk("a", "One. Two. Three")
    chosen = select_sentences([candidate(chunk, 0, 1.0), candidate(chunk, 1, 0.5),
                               candidate(chunk, 2, 0.9, covered=0.0)], limit=5)
    # 0.5 is under 60% of the best; a sentence covering no question term never joins.
    assert [c.text for c in chosen] == ["One."]


def test_select_never_repeats_a_sentence_or_overlaps_a_span(
        small_services: Services, ids: dict[str, str]) -> None:
    retriever = small_services.engine.retriever
    question = "What will the tram line link and when does construction start?"
    hits = retriever.search(question, top_k=4).hits
    # The same passages again, and a copy of each whose one "sentence" spans two real ones,
    # so the pool holds duplicates and overlapping spans by construction.
    merged = []
    for hit in hits:
        spans = hit.chunk.sentences
        if len(spans) >= 2:
            joined = ((spans[0][0], spans[1][1]), *spans[2:])
            chunk = hit.chunk.model_copy(update={"id": hit.chunk.id + "-merged",
                                                 "sentences": joined})
            merged.append(hit.model_copy(update={"chunk": chunk}))
    assert merged
    pool = score_sentences(question, hits + hits + merged, retriever.lexical)
    chosen = select_sentences(pool, limit=20)
    assert chosen
    keys = [" ".join(c.text.lower().split()) for c in chosen]
    assert len(keys) == len(set(keys))
    for i, a in enumerate(chosen):
        for b in chosen[i + 1:]:
            same_article = a.hit.chunk.article_id == b.hit.chunk.article_id
            assert not (same_article and a.start < b.end and b.start < a.end), (a.text, b.text)


def test_the_same_sentence_in_two_articles_is_quoted_once() -> None:
    wire = "Officials confirmed the port strike ended"
    one = hand_chunk("a", wire)
    other = hand_chunk("b", f"Local news. {wire}")
    chosen = select_sentences([candidate(one, 0, 1.0), candidate(other, 1, 0.99),
                               candidate(other, 0, 0.7)], limit=5)
    assert [c.text for c in chosen] == [wire, "Local news."]


# ---- composing and citing ----------------------------------------------------------------

QUESTIONS = [
    "What did Quillfeather say about the budget?",
    "What will the tram line link and when does construction start?",
    "Which homes were evacuated, and which workers went on strike?",
]


@pytest.mark.parametrize("question", QUESTIONS)
def test_citations_are_numbered_in_order_and_point_at_exact_spans(
        small_services: Services, question: str) -> None:
    engine = small_services.engine
    hits = engine.retriever.search(question).hits
    answer = answer_extractive(question, hits, engine.retriever.lexical, threshold=0.0,
                               max_sentences=5)
    assert not answer.abstained and answer.citations
    markers = [int(n) for n in MARKER.findall(answer.answer)]
    assert markers == list(range(1, len(answer.citations) + 1))
    assert [c.id for c in answer.citations] == markers
    for citation in answer.citations:
        article = engine.store.get_article(citation.article_id)
        assert citation.text == article.text[citation.start:citation.end]
        assert citation.quote == article.text[citation.quote_start:citation.quote_end]
        assert citation.start <= citation.quote_start < citation.quote_end <= citation.end
        assert f"{citation.quote} [{citation.id}]" in answer.answer
        assert citation.title == article.title and citation.source == article.source
        assert citation.published == article.published
    # Grouped by article in order of first appearance, in text order inside each article.
    seen: list[str] = []
    for citation in answer.citations:
        if not seen or seen[-1] != citation.article_id:
            assert citation.article_id not in seen
            seen.append(citation.article_id)
    for a, b in zip(answer.citations, answer.citations[1:], strict=False):
        if a.article_id == b.article_id:
            assert a.quote_start < b.quote_start


def test_compose_of_nothing_is_empty() -> None:
    assert compose([]) == ("", [])


def test_a_two_article_answer_cites_both(small_services: Services,
                                         ids: dict[str, str]) -> None:
    engine = small_services.engine
    question = "Which homes were evacuated, and which workers went on strike?"
    hits = engine.retriever.search(question).hits
    answer = answer_extractive(question, hits, engine.retriever.lexical, 0.0, 5)
    cited = {c.article_id for c in answer.citations}
    assert {ids["port.json"], ids["flood.json"]} <= cited


# ---- abstention --------------------------------------------------------------------------

def test_answer_abstains_below_the_threshold_but_keeps_its_contexts(
        small_services: Services) -> None:
    engine = small_services.engine
    question = "What did Quillfeather say about the budget?"
    hits = engine.retriever.search(question).hits
    # Evidence is at most 1.0 by construction (weights sum to 1, each part in [0, 1]).
    answer = answer_extractive(question, hits, engine.retriever.lexical, threshold=1.01,
                               max_sentences=5)
    assert answer.abstained
    assert answer.answer == ABSTENTION
    assert answer.citations == []
    assert not MARKER.search(answer.answer)
    assert [c.chunk_id for c in answer.contexts] == [h.chunk.id for h in hits]
    assert [c.rank for c in answer.contexts] == list(range(1, len(hits) + 1))
    assert 0.0 < answer.evidence_score < 1.01
    assert answer.grounding.sentences == 0 and answer.mode == "extractive"

    answered = answer_extractive(question, hits, engine.retriever.lexical, threshold=0.0,
                                 max_sentences=5)
    assert not answered.abstained
    assert answered.citations and answered.answer != ABSTENTION
    assert answered.evidence_score == answer.evidence_score
    assert answered.grounding.supported == answered.grounding.sentences == len(
        answered.citations)
    assert "Quillfeather" in answered.answer


def test_max_sentences_caps_the_answer(small_services: Services) -> None:
    engine = small_services.engine
    question = "What will the tram line link and when does construction start?"
    hits = engine.retriever.search(question).hits
    answer = answer_extractive(question, hits, engine.retriever.lexical, 0.0, max_sentences=1)
    assert len(answer.citations) == 1


def test_no_hits_means_abstention(small_services: Services) -> None:
    answer = answer_extractive("Anything?", [], small_services.engine.retriever.lexical,
                               threshold=0.0001, max_sentences=5)
    assert answer.abstained and answer.evidence_score == 0.0 and answer.contexts == []
