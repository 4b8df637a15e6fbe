"""The BM25 index (bm25s), derived from the store's chunks: never a second source of truth.

Each chunk is indexed with its article's title, outlet and date in front of its text: news
questions name outlets, people and dates, and the measured gain from that field text is large
(DESIGN.md). Scores come back for every chunk at once, so fusion can read the lexical score of
a dense hit and the other way round.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

import bm25s
import numpy as np

from rag.analysis import ANALYSIS_CACHE, NO_SENTENCE, Analyzer, Spans, marked_words, stemmer
from rag.corpus import Corpus
from rag.file_reads import ArrayRows
from rag.schemas import Chunk, Filters

# BM25's term-frequency saturation and length normalisation (bm25s's defaults: 1.5 and 0.75).
# Lower values let a passage that names a question's rarer terms once rank with one that
# repeats its common ones: on MultiHop-RAG, k1 0.3-0.6 with b 0.4-0.6 is a plateau, Hits@10
# +0.020 held-out (docs/evaluation.md).
K1, B = 0.5, 0.5
# Where `Tokens.save` writes (beside the BM25 index in a snapshot directory).
TOKENS, TOKEN_OFFSETS, TOKEN_VOCAB = "tokens.npy", "token_offsets.npy", "token_vocab.json"
TOKEN_SENTENCES = "token_sentences.npy"
# `rows_above_sampled_cut`: how many scores the cut is read from, the fewest scores a sampled
# one stands for (below that, partitioning them all is as quick), and how many times n scores
# the cut is set to let through (the fewer, the likelier a second, whole pass).
SAMPLED_CUT_SAMPLE, SAMPLED_CUT_MIN_STRIDE, SAMPLED_CUT_MARGIN = 8192, 8, 3


def lexical_text(chunk: Chunk) -> str:
    """What BM25 sees of a chunk: title, outlet, date, then the passage."""
    date = chunk.published.strftime("%Y-%m-%d %B %Y") if chunk.published else ""
    return " ".join(part for part in (chunk.title, chunk.source, date, chunk.text) if part)


def lexical_sentence_spans(chunk: Chunk) -> Spans:
    """The chunk's sentences as offsets into its `lexical_text` (the whole passage as one
    sentence when it has no sentence spans)."""
    shift = len(lexical_text(chunk)) - len(chunk.text) - chunk.start
    spans = chunk.sentences or ((chunk.start, chunk.end),)
    return tuple((start + shift, end + shift) for start, end in spans)


class Tokens:
    """The analysed texts of a corpus, added a batch at a time, each held as an int32 array of
    term ids, with the sentence each term lies in.

    bm25s.tokenize returns every text as a list of Python ints, most of a rebuild's peak
    memory; compact arrays analysed a page at a time hold a fraction of it, and `bm25_index`
    computes the BM25 matrix from them. The sentence marks let the re-ranker and the answerer
    read a passage's sentences without analysing its text again. Loaded texts stay three flat
    arrays (ids, marks, offsets) until an update needs them one by one.
    """

    def __init__(self) -> None:
        self._stemmer = stemmer()
        self._vocab: dict[str, int] | None = {}
        self._terms: list[str] = []  # term ids' terms, in id order
        self._texts: list[np.ndarray] | None = []
        self._sentences: list[np.ndarray] | None = []
        self._flat: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        # A loaded index's term ids and marks, read a text at a time (`text`).
        self._rows: tuple[ArrayRows, ArrayRows] | None = None

    def add(self, texts: list[str], sentences: list[Spans] | None = None) -> None:
        """Analyse these texts as bm25s.tokenize does (its token pattern, lower case,
        stopwords, stems), marking each term with the sentence of `sentences` (each text's
        spans, in order) it lies in.

        bm25s.tokenize is not called because it gives no offsets; this is its analysis, with
        the terms numbered in order of first use rather than by a set's order."""
        found = [marked_words(text, spans)
                 for text, spans in zip(texts, sentences or [()] * len(texts), strict=True)]
        unique = list(dict.fromkeys(w for words, _ in found for w in words))
        vocab, terms = self.vocab, self._terms
        ids = {}
        for word, stem in zip(unique, self._stemmer.stemWords(unique), strict=True):
            if stem not in vocab:
                vocab[stem] = len(terms)
                terms.append(stem)
            ids[word] = vocab[stem]
        lengths = [len(words) for words, _ in found]
        page = np.fromiter(map(ids.__getitem__, itertools.chain.from_iterable(
            words for words, _ in found)), dtype=np.int32, count=sum(lengths))
        self.arrays.extend(np.split(page, np.cumsum(lengths)[:-1]) if found else [])
        self.sentences.extend(text_marks for _, text_marks in found)

    def add_chunks(self, chunks: list[Chunk]) -> None:
        """Analyse the chunks' `lexical_text`s, terms marked by sentence."""
        self.add([lexical_text(c) for c in chunks], [lexical_sentence_spans(c) for c in chunks])

    def __len__(self) -> int:
        return len(self._flat[2]) - 1 if self._flat is not None else len(self._texts)

    @property
    def vocab(self) -> dict[str, int]:
        """Term -> id."""
        if self._vocab is None:
            self._vocab = {term: i for i, term in enumerate(self._terms)}
        return self._vocab

    @property
    def terms(self) -> list[str]:
        """Id -> term."""
        return self._terms

    @property
    def arrays(self) -> list[np.ndarray]:
        """Each text's term ids (columns of `vocab`), in order."""
        self._unflatten()
        return self._texts

    @property
    def sentences(self) -> list[np.ndarray]:
        """Each text's sentence marks (uint16, one a term of `arrays`; `NO_SENTENCE` outside
        every sentence)."""
        self._unflatten()
        return self._sentences

    def text(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """One text's term ids and their sentence marks. A loaded index reads them from its
        files (`rag.file_reads.ArrayRows`): a question reads a few hundred scattered texts, and
        read through the memory maps their pages would stay resident in the process."""
        if self._flat is None:
            return self._texts[row], self._sentences[row]
        if self._rows is None:
            return self._mapped(row)
        begin, end = int(self._flat[2][row]), int(self._flat[2][row + 1])
        return self._rows[0].slice(begin, end), self._rows[1].slice(begin, end)

    def _mapped(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """One loaded text's term ids and marks, sliced from the memory-mapped arrays (for
        work that reads every text in order)."""
        ids, marks, offsets = self._flat
        begin, end = int(offsets[row]), int(offsets[row + 1])
        return ids[begin:end], marks[begin:end]

    def lengths(self) -> np.ndarray:
        """Each text's number of terms (int64)."""
        if self._flat is not None:
            return np.diff(self._flat[2])
        return np.fromiter((len(t) for t in self._texts), dtype=np.int64, count=len(self._texts))

    def select(self, rows: Iterable[int]) -> Tokens:
        """The analysed texts of these rows, in this order (the vocabulary is shared: terms
        no longer in any text are harmless, BM25 gives them no documents)."""
        chosen = Tokens()
        chosen._vocab, chosen._terms = dict(self.vocab), list(self._terms)
        for row in rows:
            ids, marks = self._mapped(row) if self._flat is not None else self.text(row)
            chosen._texts.append(ids)
            chosen._sentences.append(marks)
        return chosen

    def save(self, directory: Path) -> None:
        """Write the texts and their marks as flat arrays plus offsets, and the terms, into
        `directory`."""
        if self._flat is not None:
            ids, marks, offsets = self._flat
        else:
            lengths = np.array([len(t) for t in self._texts], dtype=np.int64)
            offsets = np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(lengths)])
            ids, marks = _flat(self._texts, np.int32), _flat(self._sentences, np.uint16)
        np.save(directory / TOKENS, ids)
        np.save(directory / TOKEN_SENTENCES, marks)
        np.save(directory / TOKEN_OFFSETS, offsets)
        (directory / TOKEN_VOCAB).write_text(json.dumps(self._terms))

    @classmethod
    def load(cls, directory: Path) -> Tokens:
        """What `save` wrote, the arrays memory-mapped for work over every text, and read a
        text at a time from their files for a question (`text`)."""
        tokens = cls()
        # Plain arrays over the mappings: slicing numpy's memmap subclass was most of a load.
        ids = np.asarray(np.load(directory / TOKENS, mmap_mode="r"))
        marks = np.asarray(np.load(directory / TOKEN_SENTENCES, mmap_mode="r"))
        offsets = np.load(directory / TOKEN_OFFSETS)
        if len(ids) != len(marks) or not len(offsets) or offsets[-1] != len(ids):
            raise ValueError("the analysed texts do not match their offsets")
        tokens._flat = (ids, marks, offsets)
        tokens._rows = (ArrayRows(directory / TOKENS), ArrayRows(directory / TOKEN_SENTENCES))
        tokens._texts = tokens._sentences = tokens._vocab = None
        tokens._terms = json.loads((directory / TOKEN_VOCAB).read_text())
        return tokens

    def _unflatten(self) -> None:
        if self._flat is not None:
            ids, marks, offsets = self._flat
            bounds = list(itertools.pairwise(offsets.tolist()))
            self._texts = [ids[begin:end] for begin, end in bounds]
            self._sentences = [marks[begin:end] for begin, end in bounds]
            self._flat = self._rows = None


def _flat(arrays: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(arrays).astype(dtype, copy=False) if arrays else np.zeros(0, dtype)


class LexicalView(Protocol):
    """What the re-ranker and the answerers read of a corpus's lexical side: its analysis, how
    rare each term is, each chunk's terms, the outlets it names. A `LexicalIndex` is one over
    its own chunks; `rag.corpus_statistics.CorpusStatistics` one over partitions."""

    @property
    def analyzer(self) -> Analyzer:
        """The analysis of questions and texts (the index's own)."""
        ...

    def idf(self, term: str) -> float:
        """How rare a stemmed term is across chunks; unseen terms get the highest weight."""
        ...

    def sentence_terms(self, chunk: Chunk) -> tuple[frozenset[str], ...]:
        """The stemmed content terms of each sentence of a chunk."""
        ...

    def passage_terms(self, chunk: Chunk) -> frozenset[str]:
        """The terms of a chunk's `lexical_text`."""
        ...

    def outlet_names(self) -> dict[str, list[str]]:
        """Each outlet's short name and full name, with the stored source names it stands for."""
        ...


class LexicalIndex:
    """An in-memory BM25 index over a corpus of chunks; immutable (a store change builds anew).

    Made from chunks (`of_chunks`), from a `Corpus` and its analysed texts (`build`), or loaded
    from what `save` wrote (`load`: memory-mapped, so a restart does not re-analyse). Questions
    and texts are analysed by its `analyzer`; the chunks' terms are read from `tokens`.
    """

    def __init__(self, corpus: Corpus, tokens: Tokens, bm25: bm25s.BM25 | None) -> None:
        """`tokens`: the corpus's chunks analysed, in its order; `bm25`: their BM25 index (None
        for an empty corpus)."""
        self.corpus = corpus
        self.tokens = tokens
        self.analyzer = Analyzer()  # questions and other texts, as `tokens` were analysed
        # Chunks' terms as their analysed texts hold them, kept as the analyser keeps texts'.
        self._held_sentences = functools.lru_cache(maxsize=ANALYSIS_CACHE)(self._marked_terms)
        self._held_passage = functools.lru_cache(maxsize=ANALYSIS_CACHE)(self._passage_at)
        self._bm25 = bm25
        self._idf, self._unseen_idf = _idf(bm25, len(corpus))
        self._outlets = outlets_of(corpus.present_sources())

    @classmethod
    def of_chunks(cls, chunks: Iterable[Chunk] = ()) -> LexicalIndex:
        """The index of these chunks, analysed here."""
        chunks = list(chunks)
        tokens = Tokens()
        tokens.add_chunks(chunks)
        return cls.build(Corpus.from_chunks(chunks), tokens)

    @classmethod
    def build(cls, corpus: Corpus, tokens: Tokens) -> LexicalIndex:
        """The index of a corpus, given its chunks' `lexical_text`s analysed, in its order.
        Raises `ValueError` when the counts disagree."""
        if len(tokens) != len(corpus):
            raise ValueError("one analysed text per chunk")
        return cls(corpus, tokens, bm25_index(tokens) if len(tokens) else None)

    def save(self, directory: Path) -> None:
        """Write the BM25 arrays and vocabulary, and the analysed texts, into `directory`
        (the corpus saves itself)."""
        if self._bm25 is not None:
            self._bm25.save(directory, show_progress=False)
        self.tokens.save(directory)

    @classmethod
    def load(cls, directory: Path, corpus: Corpus) -> LexicalIndex:
        """The index `save` wrote for this corpus, its arrays memory-mapped; `ValueError` when
        what was saved does not match the corpus."""
        tokens = Tokens.load(directory)
        # bm25s's copy of the vocabulary is not read: `bm25_index` made it from the analysed
        # texts' terms, which are read anyway (docs/benchmarks.md, "Serving memory at 1M
        # chunks").
        bm25 = (bm25s.BM25.load(directory, mmap=True, load_vocab=False, show_progress=False)
                if len(corpus) else None)
        if bm25 is not None:
            if bm25.scores["num_docs"] != len(corpus):
                raise ValueError("the saved BM25 index does not match its corpus")
            if len(bm25.scores["indptr"]) != len(tokens.terms) + 1:
                raise ValueError("the saved BM25 index does not match its vocabulary")
            # Plain arrays over the mappings: scoring slices them once per query term, and
            # numpy's memmap subclass makes each slice slower.
            bm25.scores = {key: np.asarray(value) if isinstance(value, np.ndarray) else value
                           for key, value in bm25.scores.items()}
            bm25.vocab_dict = {term: column for column, term in enumerate(tokens.terms)}
            bm25.vocab_dict.setdefault("", len(tokens.terms))  # as bm25s keeps it
            bm25.unique_token_ids_set = set(bm25.vocab_dict.values())
        if len(tokens) != len(corpus):
            raise ValueError("the analysed texts do not match their corpus")
        return cls(corpus, tokens, bm25)

    @property
    def chunks(self) -> Corpus:
        """The indexed chunks, in index order."""
        return self.corpus

    def outlet_names(self) -> dict[str, list[str]]:
        """Each outlet's short name (before " - ", " | " or ":") and its stored source names."""
        return self._outlets

    def __len__(self) -> int:
        return len(self.corpus)

    def sentence_terms(self, chunk: Chunk) -> tuple[frozenset[str], ...]:
        """The stemmed content terms of each sentence of a chunk (of the whole chunk when it
        has no sentence spans).

        The re-ranker and the answerer read every sentence of their passages for each
        question. An indexed chunk's are read from the analysed text BM25 was built from (its
        terms carry their sentence); any other chunk is analysed by the `analyzer`
        (`chunk_sentence_terms`; measured: docs/benchmarks.md).
        """
        position = self.corpus.position(chunk.id)
        if position is not None:  # an indexed chunk: read from its analysed text
            held = self._held_sentences(position, len(chunk.sentences) or 1)
            if held is not None:
                return held
        return chunk_sentence_terms(self.analyzer, chunk)

    def passage_terms(self, chunk: Chunk) -> frozenset[str]:
        """The terms of a chunk's `lexical_text` (title, outlet, date and passage)."""
        position = self.corpus.position(chunk.id)
        if position is None:
            return chunk_passage_terms(self.analyzer, chunk)
        return self._held_passage(position)

    def terms_at(self, position: int) -> frozenset[str]:
        """The terms of the indexed chunk at a corpus row (title, outlet, date, passage)."""
        return self._held_passage(position)

    def _passage_at(self, position: int) -> frozenset[str]:
        terms = self.tokens.terms
        return frozenset(terms[i] for i in np.unique(self.tokens.text(position)[0]).tolist())

    def _marked_terms(self, position: int, count: int) -> tuple[frozenset[str], ...] | None:
        """The terms of each of the `count` sentences of the indexed chunk at `position`, from
        its analysed text; None when its marks do not fit that many sentences."""
        ids, marks = self.tokens.text(position)
        inside = marks != NO_SENTENCE
        if not inside.any() and len(marks):  # analysed without sentence spans
            return None
        sentences: list[set[str]] = [set() for _ in range(count)]
        terms = self.tokens.terms
        try:
            for term, mark in zip(ids[inside].tolist(), marks[inside].tolist(), strict=True):
                sentences[mark].add(terms[term])
        except IndexError:
            return None
        return tuple(frozenset(terms) for terms in sentences)

    def idf(self, term: str) -> float:
        """How rare a stemmed term is across chunks; unseen terms get the highest weight."""
        column = self._bm25.vocab_dict.get(term) if self._bm25 is not None else None
        # bm25s adds "" to the vocabulary past the last column: no term of any text.
        if column is None or column >= len(self._idf):
            return self._unseen_idf
        return float(self._idf[column])

    def document_frequencies(self, terms: list[str]) -> np.ndarray:
        """How many indexed chunks hold each of these terms (int64; 0 for a term none holds)."""
        indptr = (np.asarray(self._bm25.scores["indptr"], dtype=np.int64)
                  if self._bm25 is not None else np.zeros(1, dtype=np.int64))
        df = np.diff(indptr)
        vocab = self._bm25.vocab_dict if self._bm25 is not None else {}
        columns = np.array([vocab.get(t, len(df)) for t in terms], dtype=np.int64)
        return np.concatenate([df, [0]])[columns]

    def mean_length(self) -> float:
        """The mean number of terms of the indexed chunks' analysed texts (BM25's length
        norm), as the index was built with it."""
        return float(self.tokens.lengths().mean()) if len(self.tokens) else 0.0

    def scores(self, question: str, filters: Filters | None = None) -> np.ndarray:
        """A BM25 score for every indexed chunk (0 for chunks outside the filters)."""
        if self._bm25 is None:
            return np.zeros(0, dtype=np.float32)
        return bm25_scores(self._bm25, self.analyzer.query_terms(question),
                           self.corpus.mask(filters))

    def best(self, scores: np.ndarray, n: int) -> np.ndarray:
        """The positions of the `n` best chunks by these scores, best first, positive only."""
        return best_positive(scores, n, self.corpus.ids)


def chunk_sentence_terms(analyzer: Analyzer, chunk: Chunk) -> tuple[frozenset[str], ...]:
    """The stemmed content terms of each sentence of a chunk no index holds (of the whole
    chunk when it has no sentence spans), analysed from its text."""
    spans = chunk.sentences or ((chunk.start, chunk.end),)
    return analyzer.span_terms(chunk.text, tuple((s - chunk.start, e - chunk.start)
                                                 for s, e in spans))


def chunk_passage_terms(analyzer: Analyzer, chunk: Chunk) -> frozenset[str]:
    """The terms of the `lexical_text` of a chunk no index holds, analysed from it."""
    return frozenset(analyzer.terms(lexical_text(chunk)))


def bm25_index(tokens: Tokens) -> bm25s.BM25:
    """bm25s's index of these texts (Lucene BM25, k1 and b as below), the score matrix
    computed with numpy over all texts at once.

    `bm25s.BM25.index` counts terms one text at a time in Python, most of a snapshot update's
    time (docs/benchmarks.md, "Refresh after a write"). This computes the very same arrays
    (tests/rag/test_lexical.py compares them bit for bit); scoring, saving and loading stay
    bm25s's.
    """
    bm25 = bm25s.BM25(k1=K1, b=B)
    texts = tokens.arrays
    documents, columns = len(texts), len(tokens.vocab)
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=documents)
    term, document, frequency = _pair_counts(texts, lengths, columns)
    df = np.bincount(term, minlength=columns)
    idf = bm25_idf(df, documents)
    weight = bm25_weights(np.take(lengths.astype(np.float64), document), frequency,
                          idf[term], lengths.mean())
    indptr = np.zeros(columns + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    bm25.scores = {"data": weight, "indices": document, "indptr": indptr,
                   "num_docs": documents}
    # As bm25s does: "" (no term of any text) past the last column.
    bm25.vocab_dict = dict(tokens.vocab)
    bm25.vocab_dict.setdefault("", columns)
    bm25.unique_token_ids_set = set(bm25.vocab_dict.values())
    bm25.nonoccurrence_array = None
    return bm25


def best_positive(scores: np.ndarray, n: int, ids: np.ndarray) -> np.ndarray:
    """The positions of the `n` best positive scores, best first (`ids`: each row's chunk id,
    which breaks ties at the n-th place as `top_positions` does)."""
    if scores.size == 0:
        return np.zeros(0, dtype=np.int64)
    best = top_positions(scores, n, ids, floor=0.0)
    best = best[np.argsort(-scores[best], kind="stable")]
    return best[scores[best] > 0]


def top_positions(scores: np.ndarray, n: int, ids: np.ndarray,
                  floor: float = -np.inf) -> np.ndarray:
    """The positions of the `n` highest scores, in no particular order (`ids`: each row's
    chunk id). When the n-th score is tied with scores left out, the tied rows with the
    smallest ids are kept, so the choice does not depend on the rows' order and a corpus split
    into partitions keeps the same ones (rag/router.py); ties at or below `floor` (scores the
    caller drops) are left as they fall."""
    n = min(n, scores.size)
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    rows = rows_above_sampled_cut(scores, n, floor)
    if rows is not None:  # every score as high as the n-th best is among these rows
        return rows[top_positions(scores[rows], n, ids[rows], floor)]
    best = np.argpartition(-scores, n - 1)[:n]
    last = scores[best].min()
    if not last > floor or np.count_nonzero(scores == last) == np.count_nonzero(
            scores[best] == last):
        return best
    above = best[scores[best] > last]
    tied = np.flatnonzero(scores == last)
    tied = tied[np.argsort(ids[tied], kind="stable")][: n - len(above)]
    return np.concatenate([above, tied])


def rows_above_sampled_cut(scores: np.ndarray, n: int,
                           floor: float = -np.inf) -> np.ndarray | None:
    """The rows of `scores` at or above a cut read from an even sample of them (above `floor`
    when the cut is not), when at least `n` rows and at most half of them are: then they hold
    the `n` highest scores and every score tied with the n-th. None when the scores are too
    few to sample, or the cut let too few or too many through.

    Partitioning every score to find a few hundred was the largest numpy cost of a search
    of a large corpus (docs/benchmarks.md, "Asks at 1M chunks"); comparing them with one cut
    is a single pass."""
    stride = len(scores) // SAMPLED_CUT_SAMPLE
    if stride < SAMPLED_CUT_MIN_STRIDE or n * SAMPLED_CUT_MIN_STRIDE > len(scores):
        return None
    sample = scores[::stride]
    # The k-th highest of the sample: about `SAMPLED_CUT_MARGIN` times n scores lie above it.
    k = min(len(sample), SAMPLED_CUT_MARGIN * n // stride + 1)
    cut = np.partition(sample, len(sample) - k)[len(sample) - k]
    rows = np.flatnonzero(scores >= cut if cut > floor else scores > floor)
    return rows if n <= len(rows) <= len(scores) // 2 else None


def bm25_scores(bm25: bm25s.BM25, terms: list[str], mask: np.ndarray | None) -> np.ndarray:
    """A float32 BM25 score for every text of the index, for these query terms (the ones it
    does not know are left out); 0 outside `mask`."""
    terms = [t for t in terms if t in bm25.vocab_dict]
    if not terms:
        return np.zeros(bm25.scores["num_docs"], dtype=np.float32)
    weights = None if mask is None else mask.astype(np.float32)
    return bm25.get_scores(terms, weight_mask=weights).astype(np.float32, copy=False)


def bm25_idf(df: np.ndarray, documents: int) -> np.ndarray:
    """The float32 idf bm25s weighs each term column by, from the terms' document frequencies
    (int64) in a corpus of `documents` texts; 0 for a term in no text."""
    idf = np.zeros(len(df), dtype=np.float32)
    seen = df > 0
    idf[seen] = np.log(1 + (documents - df[seen] + 0.5) / (df[seen] + 0.5))
    return idf


def bm25_weights(lengths: np.ndarray, frequency: np.ndarray, idf: np.ndarray,
                 mean_length: float) -> np.ndarray:
    """The float32 BM25 weight of each (term, text) pair: `lengths` the texts' lengths
    (float64, one a pair, overwritten), `frequency` the term's count in the text (float32),
    `idf` the term's `bm25_idf`, `mean_length` the corpus's mean text length.

    Lucene's term weight idf * tf / (k1 * (1 - b + b * length / mean length) + tf), in
    float64 and in bm25s's order of operations, so the float32 results are its very bits; a
    partition scored with its corpus's statistics gets the bits one index of the whole corpus
    holds (rag/router.py).
    """
    weight = lengths
    weight *= B
    weight /= mean_length
    weight += 1 - B
    weight *= K1
    weight += frequency
    np.divide(frequency, weight, out=weight)
    weight *= idf
    return weight.astype(np.float32)


@dataclasses.dataclass(frozen=True)
class TermCounts:
    """How often each term occurs in each analysed text of a corpus, by term (the layout of
    bm25s's score matrix, counts instead of weights), and each text's length: what BM25 is
    scored from when the document frequencies and mean length are another corpus's (the
    whole corpus a partition belongs to, rag/router.py)."""

    terms: list[str]  # column -> term (the analysed texts' vocabulary)
    vocab: dict[str, int]  # term -> column
    lengths: np.ndarray  # int64, each text's number of terms
    indptr: np.ndarray  # int64, column j's pairs are [indptr[j], indptr[j + 1])
    document: np.ndarray  # int32, each pair's text
    frequency: np.ndarray  # float32, each pair's count

    @classmethod
    def of(cls, tokens: Tokens) -> TermCounts:
        """The counts of these analysed texts."""
        texts = tokens.arrays if len(tokens) else []
        columns = len(tokens.vocab)
        lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
        if texts:
            term, document, frequency = _pair_counts(texts, lengths, columns)
        else:
            term = document = np.zeros(0, dtype=np.int32)
            frequency = np.zeros(0, dtype=np.float32)
        indptr = np.zeros(columns + 1, dtype=np.int64)
        np.cumsum(np.bincount(term, minlength=columns), out=indptr[1:])
        return cls(list(tokens.terms), dict(tokens.vocab), lengths, indptr, document, frequency)

    @property
    def df(self) -> np.ndarray:
        """Each column's document frequency (int64)."""
        return np.diff(self.indptr)

    def bm25(self, idf: np.ndarray, mean_length: float) -> bm25s.BM25:
        """bm25s's index of these texts weighed by another corpus's statistics: `idf` each
        column's `bm25_idf` and `mean_length` the mean text length, both the whole corpus's.
        Its weights are the bits one index of the whole corpus holds for these texts, so its
        scores (bm25s's float32 sums, term by term) are too."""
        bm25 = bm25s.BM25(k1=K1, b=B)
        weight = bm25_weights(np.take(self.lengths, self.document).astype(np.float64),
                              self.frequency, np.repeat(idf, self.df), mean_length)
        bm25.scores = {"data": weight, "indices": self.document, "indptr": self.indptr,
                       "num_docs": len(self.lengths)}
        bm25.vocab_dict = dict(self.vocab)
        bm25.vocab_dict.setdefault("", len(self.terms))
        bm25.unique_token_ids_set = set(bm25.vocab_dict.values())
        bm25.nonoccurrence_array = None
        return bm25


def _pair_counts(texts: list[np.ndarray], lengths: np.ndarray, columns: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One entry per (term, document) pair of these texts with its count, in column-major
    order (by term, then document): the CSC layout bm25s keeps.

    int32 ids, each temporary freed once used, and in-place arithmetic in the caller: at 100k
    chunks these arrays were most of a first start's peak memory.

    Sorting is most of the work. A stable sort of the term ids alone keeps each term's
    documents in order, and on 16-bit keys numpy's stable sort is a linear radix sort, so the
    ids are sorted a 16-bit half at a time, faster than `np.unique` on combined keys.
    """
    term = np.concatenate(texts).astype(np.int32, copy=False)
    order = np.argsort((term & 0xFFFF).astype(np.uint16), kind="stable")
    if columns > 1 << 16:
        order = order[np.argsort((term[order] >> 16).astype(np.uint16), kind="stable")]
    term = term[order]
    document = np.repeat(np.arange(len(texts), dtype=np.int32), lengths)[order]
    del order
    first = np.ones(len(term), dtype=bool)
    first[1:] = term[1:] != term[:-1]
    first[1:] |= document[1:] != document[:-1]
    starts = np.flatnonzero(first)
    del first
    frequency = np.diff(starts, append=len(term)).astype(np.float32)
    return term[starts], document[starts], frequency


def _idf(bm25: bm25s.BM25 | None, documents: int) -> tuple[np.ndarray, float]:
    """Inverse document frequency of every vocabulary column, smoothed like BM25's, and the
    weight of a term never seen: above every seen term's. A term in no document (left in the
    vocabulary by an incremental update, rag/snapshot.py) weighs as a term never seen.

    A column of bm25s's score matrix holds one entry per chunk containing the term, so its
    length is the term's document frequency: no second pass over the tokens is needed.
    """
    if bm25 is None:
        return np.zeros(0), 1.0
    return term_idf(np.diff(np.asarray(bm25.scores["indptr"], dtype=np.int64)), documents)


def term_idf(frequency: np.ndarray, documents: int) -> tuple[np.ndarray, float]:
    """`LexicalIndex.idf` of each term of a vocabulary from its document frequency (int64) in
    a corpus of `documents` chunks, and the weight of a term never seen."""
    idf = np.log(1 + (documents - frequency + 0.5) / (frequency + 0.5))
    unseen = float(idf[frequency > 0].max(initial=0.0)) + 1.0
    idf[frequency == 0] = unseen
    return idf, unseen


def outlets_of(sources: set[str]) -> dict[str, list[str]]:
    """Outlet short names (before " - ", " | " or ":") and full names, each with the source
    names it stands for."""
    grouped: dict[str, list[str]] = {}
    for source in sorted(sources):
        short = re.split(r" - | \| |: ", source, maxsplit=1)[0].strip()
        for name in {short, source}:
            grouped.setdefault(name, []).append(source)
    return grouped
