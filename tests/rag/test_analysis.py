"""The text analysis the BM25 index and the answerers share: the same terms as the index's
analysed texts, span by span as whole, with analyses kept."""

from __future__ import annotations

import bm25s
import pytest

from rag.analysis import NO_SENTENCE, Analyzer, marked_words, stemmer
from rag.lexical import Tokens

TEXTS = [
    "The dockworkers' union said the strike at Port Averin would end on Monday.",
    "What did the central bank say about rates, and why were markets surprised?",
    "İstanbul's dockworkers struck; officials in İzmir said ships were waiting.",
]


def test_terms_are_bm25s_analysis_stopwords_out_and_stemmed() -> None:
    analyzer = Analyzer()
    terms = analyzer.query_terms("What did the union say about the strikes at the port?")
    assert terms == ["union", "say", "strike", "port"]
    theirs = bm25s.tokenize(["What did the union say about the strikes at the port?"],
                            stopwords=list(bm25s.stopwords.STOPWORDS_EN_PLUS),
                            stemmer=stemmer(), show_progress=False)
    term_of = {i: term for term, i in theirs.vocab.items()}
    assert [term_of[i] for i in theirs.ids[0]] == terms  # bm25s's own analysis
    assert analyzer.terms("Strikes, striking, struck") == {"strike", "struck"}


@pytest.mark.parametrize("text", TEXTS)
def test_a_texts_terms_are_those_the_index_holds_for_it(text: str) -> None:
    tokens = Tokens()
    tokens.add([text])
    held = [tokens.terms[i] for i in tokens.arrays[0].tolist()]
    assert Analyzer().query_terms(text) == held


@pytest.mark.parametrize("text", TEXTS)
def test_span_terms_are_each_spans_own_terms(text: str) -> None:
    analyzer = Analyzer()
    middle = text.index(" ", len(text) // 2)
    spans = ((0, middle), (middle + 1, len(text)))
    expected = tuple(frozenset(analyzer.terms(text[s:e])) for s, e in spans)
    assert analyzer.span_terms(text, spans) == expected
    assert all(expected)  # both spans hold terms: the comparison means something


def test_an_analysis_is_kept_and_given_as_a_copy() -> None:
    analyzer = Analyzer()
    first = analyzer.query_terms("Dockworkers were striking")
    first.append("changed")
    assert analyzer.query_terms("Dockworkers were striking") == ["dockwork", "strike"]
    assert analyzer._analyse.cache_info().hits == 1


def test_marked_words_name_the_span_each_word_starts_in() -> None:
    words, marks = marked_words("Alpha beta. Gamma delta. Title", ((0, 11), (12, 24)))
    assert words == ["alpha", "beta", "gamma", "delta", "title"]
    assert marks.tolist() == [0, 0, 1, 1, NO_SENTENCE]
