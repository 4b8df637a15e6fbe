"""The lexical view over partitions reads as one index over all their chunks: the same idf,
the same terms of every chunk, held by a partition or by none."""

from __future__ import annotations

import datetime as dt

import pytest

from rag.corpus_statistics import CorpusStatistics
from rag.lexical import LexicalIndex, LexicalView, TermCounts
from rag.schemas import Chunk

SENTENCES = [
    ["Dockworkers struck at Port Averin.", "The union asked for higher pay."],
    ["The central bank held its rate.", "Pay growth was slowing, it said."],
    ["Farmers said the harvest was late.", "A wet spring delayed the planting."],
    ["A new beetle was found in Verdania.", "It lives in the rainforest canopy."],
]


def chunk(number: int, sentences: list[str], source: str) -> Chunk:
    text = " ".join(sentences)
    spans, offset = [], 0
    for sentence in sentences:
        spans.append((offset, offset + len(sentence)))
        offset += len(sentence) + 1
    return Chunk(id=f"c{number}", article_id=f"a{number}", ordinal=0, text=text, start=0,
                 end=len(text), title=f"Story {number}", source=source,
                 published=dt.date(2024, 3, number + 1), sentences=tuple(spans))


CHUNKS = [chunk(i, s, source) for i, (s, source) in enumerate(
    zip(SENTENCES, ["Harbour Times", "Capital Ledger", "Harbour Times", "Science Wire"],
        strict=True))]
STRANGER = chunk(9, ["Zeppelin crews landed at the harbour.", "Pay was not discussed."],
                 "Air Post")


@pytest.fixture(scope="module")
def views() -> tuple[LexicalView, LexicalView]:
    parts = [LexicalIndex.of_chunks(CHUNKS[:2]), LexicalIndex.of_chunks(CHUNKS[2:])]
    statistics = CorpusStatistics([(index, TermCounts.of(index.tokens)) for index in parts])
    return LexicalIndex.of_chunks(CHUNKS), statistics


def test_idf_is_the_whole_corpuss(views: tuple[LexicalView, LexicalView]) -> None:
    whole, statistics = views
    terms = {t for c in CHUNKS for t in whole.passage_terms(c)} | {"zeppelin"}
    assert {t: statistics.idf(t) for t in terms} == {t: whole.idf(t) for t in terms}
    assert statistics.idf("pay") < statistics.idf("beetl")  # the comparison means something


@pytest.mark.parametrize("held", [*CHUNKS, STRANGER], ids=lambda c: c.id)
def test_a_chunks_terms_are_one_indexs(views: tuple[LexicalView, LexicalView],
                                       held: Chunk) -> None:
    whole, statistics = views
    assert statistics.sentence_terms(held) == whole.sentence_terms(held)
    assert statistics.passage_terms(held) == whole.passage_terms(held)
    assert len(statistics.sentence_terms(held)) == 2 and all(statistics.sentence_terms(held))


def test_questions_and_outlets_are_read_alike(views: tuple[LexicalView, LexicalView]) -> None:
    whole, statistics = views
    question = "What did the Harbour Times report about pay at the port?"
    assert statistics.analyzer.query_terms(question) == whole.analyzer.query_terms(question)
    assert statistics.outlet_names() == whole.outlet_names()
    assert statistics.outlet_names()["Harbour Times"] == ["Harbour Times"]
