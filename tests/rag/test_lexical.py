"""The BM25 index: what it sees of a chunk, how questions are analysed, ranking, filters,
saving and loading, and term rarity."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import bm25s
import numpy as np
import pytest

from rag.analysis import Analyzer
from rag.corpus import Corpus
from rag.lexical import (
    K1,
    NO_SENTENCE,
    B,
    LexicalIndex,
    Tokens,
    best_positive,
    bm25_index,
    lexical_text,
    rows_above_sampled_cut,
    top_positions,
)
from rag.schemas import Chunk, Filters
from support import SHARED_CORPUS, needs_shared


def chunk(chunk_id: str, text: str, *, article: str | None = None, title: str | None = None,
          source: str | None = "Wire", published: dt.date | None = dt.date(2024, 3, 4)) -> Chunk:
    return Chunk(id=chunk_id, article_id=article or chunk_id, ordinal=0, text=text, start=0,
                 end=len(text), title=title, source=source, published=published)


PORT = chunk("port", "Dockworkers were striking at the harbour for higher pay.",
             title="Harbour dispute", source="Harbour Times", published=dt.date(2024, 3, 4))
BANK = chunk("bank", "The central bank kept its rate unchanged and said pay growth was slowing.",
             title="Rates on hold", source="Capital Ledger", published=dt.date(2024, 5, 10))
FARM = chunk("farm", "Farmers said the harvest was late after a wet spring and low pay.",
             title="Late harvest", source="Harbour Times", published=dt.date(2024, 6, 1))
BEETLE = chunk("beetle", "A new beetle species was found in the Verdania rainforest canopy.",
               title="New beetle", source="Science Wire", published=None)
CHUNKS = [PORT, BANK, FARM, BEETLE]


def ranked(index: LexicalIndex, question: str, filters: Filters | None = None) -> list[str]:
    return [index.chunks[p].id for p in index.best(index.scores(question, filters), 10)]


def test_lexical_text_puts_title_source_and_date_before_the_passage() -> None:
    text = lexical_text(PORT)
    assert text.startswith("Harbour dispute Harbour Times 2024-03-04 March 2024 ")
    assert text.endswith(PORT.text)
    assert lexical_text(BEETLE) == f"New beetle Science Wire {BEETLE.text}"
    bare = chunk("bare", "Only text.", source=None, published=None)
    assert lexical_text(bare) == "Only text."


def test_the_chunk_with_the_rare_query_term_ranks_first() -> None:
    index = LexicalIndex.of_chunks(CHUNKS)
    # "pay" is in three chunks, "harvest" in one: the rare term decides.
    order = ranked(index, "pay harvest")
    assert order[0] == "farm"
    assert set(order) == {"farm", "port", "bank"}
    assert index.idf("harvest") > index.idf("pay")


def test_metadata_fields_are_searchable() -> None:
    index = LexicalIndex.of_chunks(CHUNKS)
    assert ranked(index, "Capital Ledger") == ["bank"]
    assert ranked(index, "What happened in June 2024?")[0] == "farm"


def test_question_framing_stopwords_are_not_query_terms() -> None:
    terms = Analyzer().query_terms("What did the union say about the strike?")
    assert "what" not in terms and "did" not in terms and "about" not in terms
    assert "the" not in terms
    assert {"union", "strike"} <= set(terms)


def test_stemming_matches_word_forms() -> None:
    index = LexicalIndex.of_chunks(CHUNKS)
    analyzer = index.analyzer
    assert analyzer.query_terms("strikes") == analyzer.query_terms("striking") == ["strike"]
    assert ranked(index, "strikes") == ["port"]  # the chunk says "striking"
    assert ranked(index, "strike") == ["port"]
    assert index.analyzer.terms("Dockworkers were striking") == {"dockwork", "strike"}


def test_filters_zero_the_scores_of_chunks_outside_them() -> None:
    index = LexicalIndex.of_chunks(CHUNKS)
    question = "pay beetle"  # every chunk but none scores something without filters
    assert (index.scores(question) > 0).all()

    def positive(filters: Filters) -> set[str]:
        scores = index.scores(question, filters)
        assert scores.shape == (len(CHUNKS),)
        return {c.id for c, s in zip(index.chunks, scores, strict=True) if s > 0}

    assert positive(Filters(source="Harbour Times")) == {"port", "farm"}
    assert positive(Filters(source=["Capital Ledger", "Science Wire"])) == {"bank", "beetle"}
    assert positive(Filters(article_ids=["bank", "beetle"])) == {"bank", "beetle"}
    # Date ranges: inclusive at both ends; an undated chunk is outside every range.
    may_on = Filters(published_from=dt.date(2024, 5, 10))
    assert positive(may_on) == {"bank", "farm"}
    until_may = Filters(published_to=dt.date(2024, 5, 10))
    assert positive(until_may) == {"port", "bank"}
    between = Filters(published_from=dt.date(2024, 3, 5), published_to=dt.date(2024, 5, 31))
    assert positive(between) == {"bank"}
    assert positive(Filters(source="Harbour Times", published_to=dt.date(2024, 4, 1))) == {
        "port"}
    assert positive(Filters()) == {"port", "bank", "farm", "beetle"}


def test_a_saved_index_loads_back_with_the_same_scores_and_chunks(tmp_path: Path) -> None:
    index = LexicalIndex.of_chunks(CHUNKS)
    index.chunks.save(tmp_path)
    index.save(tmp_path)
    loaded = LexicalIndex.load(tmp_path, Corpus.load(tmp_path))
    assert list(loaded.chunks) == CHUNKS
    for question in ("pay harvest", "Capital Ledger", "strikes", "zeppelin"):
        np.testing.assert_array_equal(loaded.scores(question), index.scores(question))
    assert ranked(loaded, "pay", Filters(source="Harbour Times")) == ranked(
        index, "pay", Filters(source="Harbour Times"))
    assert loaded.idf("harvest") == index.idf("harvest")
    assert loaded.idf("zeppelin") == index.idf("zeppelin")
    assert loaded.outlet_names() == index.outlet_names()


def test_an_unseen_term_is_rarer_than_any_seen_term() -> None:
    index = LexicalIndex.of_chunks(CHUNKS)
    seen = {term for c in CHUNKS for term in index.analyzer.terms(lexical_text(c))}
    unseen = index.idf("zeppelin")
    assert unseen > max(index.idf(term) for term in seen)
    # Rarity follows document frequency: one chunk > two chunks > three chunks.
    assert index.idf("beetl") > index.idf("harbour") > index.idf("pay")


def test_an_empty_index_returns_empty_scores() -> None:
    index = LexicalIndex.of_chunks()
    assert len(index) == 0
    scores = index.scores("anything at all")
    assert scores.shape == (0,)
    assert index.best(scores, 5).size == 0
    assert index.idf("anything") > 0


def test_a_question_without_indexed_terms_scores_zero_everywhere() -> None:
    index = LexicalIndex.of_chunks(CHUNKS)
    scores = index.scores("zeppelin quasar")
    np.testing.assert_array_equal(scores, np.zeros(len(CHUNKS), dtype=np.float32))
    assert index.best(scores, 3).size == 0


def test_texts_analysed_in_batches_index_as_when_analysed_at_once() -> None:
    whole = LexicalIndex.of_chunks(CHUNKS)
    tokens = Tokens()
    tokens.add([lexical_text(c) for c in CHUNKS[:1]])
    tokens.add([])
    tokens.add([lexical_text(c) for c in CHUNKS[1:]])  # new words, and words seen before
    batched = LexicalIndex.build(Corpus.from_chunks(CHUNKS), tokens)
    for question in ("pay harvest", "Capital Ledger", "harbour strike beetle", "zeppelin"):
        np.testing.assert_allclose(batched.scores(question), whole.scores(question), rtol=1e-6)
    for term in ("pay", "harvest", "beetl", "zeppelin"):
        assert batched.idf(term) == pytest.approx(whole.idf(term))
    with pytest.raises(ValueError, match="one analysed text per chunk"):
        LexicalIndex.build(Corpus.from_chunks(CHUNKS), Tokens())


def _same_arrays(ours: bm25s.BM25, theirs: bm25s.BM25) -> None:
    for key in ("data", "indices", "indptr"):
        assert ours.scores[key].dtype == theirs.scores[key].dtype, key
        np.testing.assert_array_equal(ours.scores[key], theirs.scores[key], err_msg=key)
    assert ours.scores["num_docs"] == theirs.scores["num_docs"]
    assert ours.vocab_dict == theirs.vocab_dict


@needs_shared
def test_the_bm25_matrix_is_bm25s_own_bit_for_bit() -> None:
    # Real news paragraphs (repeated words, names, numbers), then a selection of them whose
    # vocabulary keeps terms no longer in any text, as a snapshot update leaves it.
    paragraphs = [p for path in sorted(SHARED_CORPUS.glob("*.txt"))
                  for p in path.read_text(encoding="utf-8").split("\n") if p.strip()]
    assert len(paragraphs) > 50
    tokens = Tokens()
    tokens.add(paragraphs)
    for texts in (tokens, tokens.select(range(0, len(paragraphs), 3))):
        ours = bm25_index(texts)
        theirs = bm25s.BM25(k1=K1, b=B)
        theirs.index(([a.tolist() for a in texts.arrays], dict(texts.vocab)), show_progress=False)
        _same_arrays(ours, theirs)
        question = ["minist", "afghanistan", "said", "pakistan"]
        assert ours.get_scores(question).any()
        np.testing.assert_array_equal(ours.get_scores(question), theirs.get_scores(question))
    # A vocabulary past 65,536 terms (the ids no longer fit 16 bits) with repeated terms.
    wide = Tokens()
    wide.add([" ".join(f"t{n}x t{n}x t{(n * 7919) % 70_000}x" for n in range(d, 70_000, 350))
              for d in range(350)])
    assert len(wide.vocab) > 1 << 16
    theirs = bm25s.BM25(k1=K1, b=B)
    theirs.index(([a.tolist() for a in wide.arrays], dict(wide.vocab)), show_progress=False)
    _same_arrays(bm25_index(wide), theirs)
    unused = np.diff(bm25_index(tokens.select(range(0, len(paragraphs), 3))).scores["indptr"])
    assert (unused == 0).any()  # the selection did leave terms in no text


def _with_sentences(chunk_id: str, sentences: list[str], start: int = 0) -> Chunk:
    text = " ".join(sentences)
    spans, offset = [], start
    for sentence in sentences:
        spans.append((offset, offset + len(sentence)))
        offset += len(sentence) + 1
    return Chunk(id=chunk_id, article_id="a", ordinal=0, text=text, start=start,
                 end=start + len(text), sentences=tuple(spans))


@pytest.mark.parametrize("sentences", [
    ["Port officials said the dockworkers strike ended after nine days.",
     "Unions accepted a pay rise."],
    # "İ" lower-cases to two characters, which moves every later offset
    ["İstanbul's dockworkers struck.", "Officials in İzmir said ships were waiting."],
])
def test_sentence_terms_are_each_sentences_own_analysis(sentences: list[str]) -> None:
    index = LexicalIndex.of_chunks(CHUNKS)
    passage = _with_sentences("p", sentences, start=120)  # offsets into the article
    expected = tuple(frozenset(index.analyzer.terms(s)) for s in sentences)
    assert index.sentence_terms(passage) == expected
    assert all(expected)  # every sentence has content terms: the comparison means something


def test_sentence_terms_of_a_chunk_without_spans_are_its_whole_text() -> None:
    index = LexicalIndex.of_chunks(CHUNKS)
    assert index.sentence_terms(PORT) == (frozenset(index.analyzer.terms(PORT.text)),)


def test_sentence_terms_are_analysed_once_a_passage() -> None:
    index = LexicalIndex.of_chunks(CHUNKS)
    passage = _with_sentences("p", ["The strike ended.", "Ships sailed again."])
    first = index.sentence_terms(passage)
    analysed = index.analyzer._analyse_spans.cache_info()
    assert index.sentence_terms(passage) == first
    after = index.analyzer._analyse_spans.cache_info()
    assert (after.hits, after.misses) == (analysed.hits + 1, analysed.misses)


@pytest.mark.parametrize("sentences", [
    ["Port officials said the dockworkers strike ended after nine days.", "It did.",
     "Unions accepted a pay rise."],  # "It did." holds no content term: an empty set
    ["İstanbul's dockworkers struck.", "Officials in İzmir said ships were waiting."],
])
def test_an_indexed_chunks_sentence_terms_come_from_its_analysed_text(
        sentences: list[str], tmp_path: Path) -> None:
    passage = _with_sentences("p", sentences, start=120).model_copy(
        update={"title": "Dock strike ends", "source": "Harbour Times"})
    index = LexicalIndex.of_chunks([*CHUNKS, passage])
    expected = tuple(frozenset(index.analyzer.terms(s)) for s in sentences)
    assert index.sentence_terms(passage) == expected
    assert index.analyzer._analyse_spans.cache_info().misses == 0  # no text was analysed again
    # the title and outlet are terms of the passage, in none of its sentences
    assert index.passage_terms(passage) == frozenset(index.analyzer.terms(lexical_text(passage)))
    assert {"dock", "harbour"} <= index.passage_terms(passage)
    assert not {"dock", "harbour"} & set().union(*expected)
    index.save(tmp_path)
    loaded = LexicalIndex.load(tmp_path, index.corpus)
    assert loaded.sentence_terms(passage) == expected
    assert loaded.passage_terms(passage) == index.passage_terms(passage)


def test_a_chunk_the_index_does_not_hold_is_analysed_from_its_text() -> None:
    index = LexicalIndex.of_chunks(CHUNKS)
    stranger = chunk("stranger", "Zeppelin crews landed at the harbour.")
    assert index.passage_terms(stranger) == frozenset(index.analyzer.terms(lexical_text(stranger)))
    assert index.sentence_terms(stranger) == (frozenset(index.analyzer.terms(stranger.text)),)


def test_sentence_marks_place_each_term_in_its_sentence() -> None:
    tokens = Tokens()
    text = "Alpha beta. Gamma delta epsilon. Zeta"
    tokens.add([text, "Harbour spans"], [((0, 11), (12, 32)), ()])
    marks = tokens.sentences
    assert marks[0].tolist() == [0, 0, 1, 1, 1, NO_SENTENCE]  # "zeta" is in no sentence
    assert marks[1].tolist() == [NO_SENTENCE] * 2  # analysed without sentence spans
    assert [len(a) for a in tokens.arrays] == [6, 2]


def test_a_sentence_bound_inside_a_word_changes_no_term() -> None:
    text = "Harbour dockworkers struck again"
    cut, whole = Tokens(), Tokens()
    cut.add([text], [((0, 12), (12, len(text)))])  # "dockworkers" cut after "dock"
    whole.add([text])
    assert [cut.terms[i] for i in cut.arrays[0]] == [whole.terms[i] for i in whole.arrays[0]]
    assert cut.sentences[0].tolist() == [0, 0, 1]  # each word in the sentence it starts in


def test_loaded_texts_select_and_grow_as_in_memory_ones(tmp_path: Path) -> None:
    built = Tokens()
    built.add_chunks(CHUNKS[:3])
    built.save(tmp_path)
    loaded = Tokens.load(tmp_path)
    assert len(loaded) == 3 and loaded.terms == built.terms
    for row in range(3):
        assert [a.tolist() for a in loaded.text(row)] == [a.tolist() for a in built.text(row)]
    grown = {}
    for name, tokens in (("built", built), ("loaded", loaded)):
        grown[name] = tokens.select([2, 0])
        grown[name].add_chunks(CHUNKS[3:])
    assert grown["built"].vocab == grown["loaded"].vocab
    for a, b in zip(grown["built"].arrays, grown["loaded"].arrays, strict=True):
        assert a.tolist() == b.tolist()
    for a, b in zip(grown["built"].sentences, grown["loaded"].sentences, strict=True):
        assert a.tolist() == b.tolist()


def _reference_top(scores: np.ndarray, n: int, ids: np.ndarray) -> set[int]:
    """The n highest scores, ties at the n-th broken by the smallest id: sorted whole."""
    order = np.lexsort((ids, -scores))
    return {int(i) for i in order[:n]}


@pytest.mark.parametrize("kind", ["spread", "ties", "mostly_zero", "few_positive", "masked"])
def test_the_best_of_many_scores_are_those_a_whole_sort_gives(kind: str) -> None:
    """Large score arrays are cut at a sampled score before partitioning
    (`rows_above_sampled_cut`): the chosen rows, ties included, are a whole sort's."""
    rng = np.random.default_rng(7)
    size = 300_000
    ids = rng.permutation(size).astype(str)  # the tie-break is by id, not by row
    scores = {
        "spread": rng.gamma(2.0, 1.0, size),
        "ties": np.round(rng.gamma(2.0, 1.0, size), 1),
        "mostly_zero": np.where(rng.random(size) < 0.97, 0.0, rng.gamma(2.0, 1.0, size)),
        "few_positive": np.where(rng.random(size) < 0.9995, 0.0, rng.random(size) + 0.5),
        "masked": np.where(rng.random(size) < 0.5, -np.inf, rng.random(size)),
    }[kind].astype(np.float32)
    if kind != "few_positive":
        assert rows_above_sampled_cut(scores, 200, 0.0) is not None  # the cut is taken
    for n in (1, 10, 200, 1_000):
        chosen = top_positions(scores, n, ids)
        assert len(chosen) == n and set(chosen.tolist()) == _reference_top(scores, n, ids)
        positive = best_positive(scores, n, ids)
        expected = [i for i in sorted(_reference_top(scores, n, ids),
                                      key=lambda i: (-scores[i], ids[i])) if scores[i] > 0]
        assert sorted(positive.tolist()) == sorted(expected)
        assert np.all(np.diff(scores[positive]) <= 0)
