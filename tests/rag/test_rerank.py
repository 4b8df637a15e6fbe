"""The second stage (rag/rerank.py) on hand-made passages whose right order is plain."""

from __future__ import annotations

import numpy as np
import pytest

from rag.config import Settings
from rag.lexical import LexicalIndex
from rag.query import clauses
from rag.rerank import rerank
from rag.schemas import Chunk, Hit


def chunk(cid: str, article: str, sentences: list[str], source: str = "Wire") -> Chunk:
    text = " ".join(sentences)
    spans, offset = [], 0
    for sentence in sentences:
        spans.append((offset, offset + len(sentence)))
        offset += len(sentence) + 1
    return Chunk(id=cid, article_id=article, ordinal=0, text=text, start=0, end=len(text),
                 title=f"{article} story", source=source, sentences=tuple(spans))


CHUNKS = [
    chunk("a0", "a", ["The harbour reopened on Friday.", "Trade resumed slowly at the docks."]),
    chunk("a1", "a", ["Port officials said the dockworkers strike ended after nine days.",
                      "Unions accepted a pay rise."]),
    chunk("b0", "b", ["Valve will sell the Steam Deck OLED on November 16."], "Engadget"),
    chunk("c0", "c", ["Polygon reviewed the Steam Deck OLED screen."], "Polygon"),
    chunk("d0", "d", ["Rainfall was above average in the valley this spring."]),
]


@pytest.fixture(scope="module")
def lexical() -> LexicalIndex:
    return LexicalIndex.of_chunks(CHUNKS)


def settings(**overrides: object) -> Settings:
    """The defaults (depth 30), unless a test says otherwise."""
    return Settings(_env_file=None, **overrides)


def hits(*pairs: tuple[str, float]) -> list[Hit]:
    by_id = {c.id: c for c in CHUNKS}
    return [Hit(chunk=by_id[cid], score=score) for cid, score in pairs]


def test_clauses_split_a_compound_question_into_its_parts(lexical: LexicalIndex) -> None:
    question = ("Which company, reported by Engadget and Polygon, sells the Steam Deck "
                "OLED on November 16, and reviewed its screen?")
    parts = clauses(question, lexical)
    # "reported by Engadget" and "Polygon" hold one content term each ("report" frames).
    assert [sorted(p.weights) for p in parts] == [
        ["16", "deck", "novemb", "ole", "sell", "steam"], ["review", "screen"]]
    assert [question[slice(*p.span)] for p in parts] == [
        "sells the Steam Deck OLED on November 16", "reviewed its screen"]
    assert clauses("Who won?", lexical) == []


def test_the_passage_whose_sentence_answers_outranks_its_better_fused_sibling(
        lexical: LexicalIndex) -> None:
    question = "When did the dockworkers strike end?"
    ranked = rerank(question, hits(("a0", 1.0), ("a1", 0.8), ("d0", 0.5)),
                               lexical, settings())
    # a1 now leads; the other article's best follows it, before a1's sibling.
    assert [h.chunk.id for h in ranked] == ["a1", "d0", "a0"]
    assert [h.score for h in ranked] == sorted((h.score for h in ranked), reverse=True)
    # The first stage's score travels along, for the answerer.
    assert [h.fused for h in ranked] == [0.8, 0.5, 1.0]


def test_each_named_outlet_leads_when_a_question_names_several(lexical: LexicalIndex) -> None:
    question = "Did Engadget and Polygon both report on the Steam Deck OLED?"
    outlets = [["Engadget"], ["Polygon"]]
    ranked = rerank(question, hits(("d0", 1.0), ("a0", 0.95), ("c0", 0.3),
                                              ("b0", 0.3)), lexical, settings(), outlets)
    assert {h.chunk.id for h in ranked[:2]} == {"b0", "c0"}
    assert [h.chunk.id for h in ranked[2:]] == ["d0", "a0"]
    # Leading comes from a bonus on the score, so the order is the order of the scores.
    assert [h.score for h in ranked] == sorted((h.score for h in ranked), reverse=True)
    assert ranked[1].score > ranked[2].score


def test_the_second_article_leads_its_siblings_otherwise(lexical: LexicalIndex) -> None:
    ranked = rerank("harbour", hits(("a0", 1.0), ("a1", 0.9), ("d0", 0.8)), lexical,
                               settings(sentence_weight=0.0, clause_weight=0.0))
    assert [h.chunk.id for h in ranked] == ["a0", "d0", "a1"]


def test_depth_bounds_the_work_and_zero_turns_it_off(lexical: LexicalIndex) -> None:
    question = "When did the dockworkers strike end?"
    given = hits(("a0", 1.0), ("d0", 0.9), ("a1", 0.8))
    assert rerank(question, given, lexical, settings(rerank_depth=0)) == given
    shallow = rerank(question, given, lexical, settings(rerank_depth=2))
    assert shallow[-1] == given[-1]  # beyond the depth: untouched, after the re-ranked


def test_a_sentence_that_means_what_is_asked_lifts_its_passage_without_shared_words(
        lexical: LexicalIndex) -> None:
    # The question shares "harbour" with a0 and no word with a1, whose strike sentence is
    # what it asks about; sentence vectors (their cosines, given here) tell.
    question = "Did work at the harbour stop, and when did ships sail again?"
    given = hits(("a0", 1.0), ("a1", 0.9), ("d0", 0.5))
    assert len(clauses(question, lexical)) == 2
    lexical_only = rerank(question, given, lexical, settings())
    assert [h.chunk.id for h in lexical_only][:2] == ["a0", "d0"]
    # Columns: the question, then its two clauses; a1's sentences are nearest to all three.
    cosines = np.array([[0.2, 0.2, 0.3], [0.7, 0.8, 0.6], [0.0, 0.1, 0.0]])
    ranked = rerank(question, given, lexical, settings(), cosines=cosines)
    assert ranked[0].chunk.id == "a1"
    # Weighted off, the cosines change nothing.
    off = rerank(question, given, lexical,
                 settings(sentence_vector_weight=0, clause_vector_weight=0), cosines=cosines)
    assert [h.score for h in off] == [h.score for h in lexical_only]
