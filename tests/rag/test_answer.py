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
)
from rag.coverage import term_weights
from rag.lexical import LexicalIndex
from rag.schemas import Chunk, Hit
from support import needs_shared

MARKER = re.compile(r"\[(\d+)\]")
SENTENCE = re.compile(r"\S[^.]*\.?")


def hand_chunk(chunk_id: str, text: str, article: str | None = None, start: int = 0) -> Chunk:
    """A chunk whose sentences end at each '.' (offsets as if the article began at start)."""
    spans = [(start + m.start(), start + m.end()) for m in SENTENCE.finditer(text)]
    return Chunk(id=chunk_id, article_id=article or chunk_id, ordinal=0, text=text,
                 start=start, end=start + len(text), sentences=tuple(spans))


# ---- term weights and coverage ---------------------------------------------------------

def test_term_weights_are_the_idf_of_content_terms_without_framing_words() -> None:
    index = LexicalIndex.of_chunks([
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


def test_sentence_meaning_decides_between_sentences_holding_the_same_question_words() -> None:
    # Both sentences hold "Asif" and "peace" and nothing else the question asks; only what
    # they mean (their sentence vectors' cosines to the question, given here) tells them apart.
    chunk = hand_chunk("p0", "Asif said peace was fragile. Asif said peace means progress.")
    lexical = LexicalIndex.of_chunks([chunk, hand_chunk("q0", "Rain fell on the valley.")])
    question = "What does Asif say peace brings?"
    plain = score_sentences(question, [Hit(chunk=chunk, score=1.0)], lexical)
    assert plain[0].coverage == plain[1].coverage and plain[0].score == plain[1].score
    for meaning, first in (((0.3, 0.6), "progress"), ((0.6, 0.3), "fragile")):
        ranked = score_sentences(question, [Hit(chunk=chunk, score=1.0, meaning=meaning)],
                                 lexical)
        assert first in ranked[0].text and ranked[0].score > ranked[1].score


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


# ---- who said what -----------------------------------------------------------------------

def spoken_chunk(chunk_id: str, text: str, speakers: tuple[str | None, ...]) -> Chunk:
    chunk = hand_chunk(chunk_id, text)
    return chunk.model_copy(update={"speakers": speakers, "source": "Daily Sabah"})


def test_a_sentence_spoken_by_the_person_asked_about_covers_their_name() -> None:
    by_asif = spoken_chunk("a", "India wants war on both borders. Asif visited Kabul.",
                           ("Khawaja Muhammad Asif", None))
    by_khan = spoken_chunk("b", "India wants war on both borders.", ("Imran Khan",))
    index = LexicalIndex.of_chunks([by_asif, by_khan, hand_chunk("c", "Farmers sold wheat.")])
    hits = [Hit(chunk=by_asif, score=1.0), Hit(chunk=by_khan, score=1.0)]
    scored = score_sentences("What did Asif say about India?", hits, index)
    covered = {(c.hit.chunk.id, c.text): c.coverage for c in scored}
    india, name = covered[("a", "India wants war on both borders.")], \
        covered[("a", "Asif visited Kabul.")]
    assert india == pytest.approx(1.0)
    assert covered[("b", "India wants war on both borders.")] == pytest.approx(1.0 - name)
    assert scored[0].hit.chunk.id == "a" and scored[0].coverage == pytest.approx(1.0)
    # Without a speech question nobody's words are boosted.
    plain = score_sentences("India Asif", hits, index)
    assert [c.coverage for c in plain if c.text.startswith("India")] == \
        pytest.approx([1.0 - name] * 2)


def test_compose_attributes_each_run_of_one_article_and_speaker() -> None:
    chunk = spoken_chunk("a", "Talks failed. They agree verbally. Peace means progress.",
                         (None, "Khawaja Muhammad Asif", "Khawaja Muhammad Asif"))
    chosen = [candidate(chunk, i, 1.0 - i / 10) for i in range(3)]
    text, citations = compose(chosen, attribute=True)
    assert text == ("According to Daily Sabah: Talks failed. [1] Khawaja Muhammad Asif, "
                    "according to Daily Sabah: They agree verbally. [2] Peace means progress. [3]")
    assert [c.speaker for c in citations] == [None, "Khawaja Muhammad Asif",
                                              "Khawaja Muhammad Asif"]
    assert compose(chosen)[0] == "Talks failed. [1] They agree verbally. [2] " \
        "Peace means progress. [3]"


def test_an_answer_about_what_someone_said_names_speaker_outlet_and_date(
        small_services: Services) -> None:
    engine = small_services.engine
    question = "What did Marta Kessling say about the strike?"
    answer = answer_extractive(question, engine.retriever.search(question).hits,
                               engine.retriever.lexical, 0.0, 5)
    assert answer.answer.startswith("Marta Kessling, according to Harbour Times (2024-03-04): ")
    assert answer.citations[0].speaker == "Marta Kessling"
    for citation in answer.citations:
        assert f"{citation.quote} [{citation.id}]" in answer.answer
    # A question that asks no one's words gets no attribution.
    other = "How many dockworkers went on strike at Port Averin?"
    plain = answer_extractive(other, engine.retriever.search(other).hits,
                              engine.retriever.lexical, 0.0, 5)
    assert "according to" not in plain.answer


@needs_shared
def test_asifs_words_on_india_come_first(news_services: Services) -> None:
    answer = news_services.engine.ask("What did Khawaja Muhammad Asif say about India?")
    first = answer.citations[0]
    assert "India wants to engage Pakistan on both borders" in first.quote
    assert first.speaker == "Khawaja Muhammad Asif"
    assert answer.answer.startswith(
        "Khawaja Muhammad Asif (Pakistan’s Defense Minister), according to Daily Sabah: ")
