"""The BM25 index (bm25s), derived from the store's chunks: never a second source of truth.

Each chunk is indexed with its article's title, outlet and date in front of its text: news
questions name outlets, people and dates, and the measured gain from that field text is large
(DESIGN.md). Scores come back for every chunk at once, so fusion can read the lexical score of
a dense hit and the other way round.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections.abc import Iterable
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

from rag.corpus import Corpus
from rag.schemas import Chunk, Filters

# NLTK's English list: bm25s's "en" (Lucene's 33 words) keeps "what", "did", "about", which then
# outweigh the words a question is really about.
STOPWORDS = "en_plus"
# bm25s's own analysis (its token pattern, lower case, stopwords, then the stemmer), redone
# here for single texts: bm25s.tokenize builds progress bars and vocabularies on every call,
# which the profile showed as most of an extractive answer's time (it analyses every sentence).
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_STOPWORD_SET = frozenset(bm25s.stopwords.STOPWORDS_EN_PLUS)
# Where `Tokens.save` writes (beside the BM25 index in a snapshot directory).
TOKENS, TOKEN_OFFSETS, TOKEN_VOCAB = "tokens.npy", "token_offsets.npy", "token_vocab.json"
# Texts whose analysis is kept (sentences and words, ~100 bytes each on average).
ANALYSIS_CACHE = 20_000


def lexical_text(chunk: Chunk) -> str:
    """What BM25 sees of a chunk: title, outlet, date, then the passage."""
    date = chunk.published.strftime("%Y-%m-%d %B %Y") if chunk.published else ""
    return " ".join(part for part in (chunk.title, chunk.source, date, chunk.text) if part)


class Tokens:
    """The analysed texts of a corpus, added a batch at a time, each held as an int32 array.

    bm25s.tokenize returns every text as a list of Python ints: at 100k chunks that was ~0.8 GB,
    most of a rebuild's peak memory (docs/benchmarks.md). Analysing a page at a time and keeping
    compact arrays holds ~0.1 GB, from which `bm25_index` computes the BM25 matrix.
    """

    def __init__(self) -> None:
        self._stemmer = Stemmer.Stemmer("english")
        self.vocab: dict[str, int] = {}
        self._texts: list[np.ndarray] = []

    def add(self, texts: list[str]) -> None:
        """Analyse these texts (bm25s's analysis: token pattern, lower case, stopwords, stems)."""
        if not texts:
            return
        batch = bm25s.tokenize(texts, stopwords=STOPWORDS, stemmer=self._stemmer,
                               show_progress=False)
        to_corpus = np.zeros(max(batch.vocab.values(), default=-1) + 1, dtype=np.int32)
        for token, local in batch.vocab.items():
            to_corpus[local] = self.vocab.setdefault(token, len(self.vocab))
        self._texts.extend(to_corpus[np.asarray(ids, dtype=np.int64)] for ids in batch.ids)

    def __len__(self) -> int:
        return len(self._texts)

    @property
    def arrays(self) -> list[np.ndarray]:
        """Each text's term ids (columns of `vocab`), in order."""
        return self._texts

    def select(self, rows: Iterable[int]) -> Tokens:
        """The analysed texts of these rows, in this order (the vocabulary is shared: terms
        no longer in any text are harmless, BM25 gives them no documents)."""
        chosen = Tokens()
        chosen.vocab = dict(self.vocab)
        chosen._texts = [self._texts[row] for row in rows]
        return chosen

    def save(self, directory: Path) -> None:
        """Write the texts as one array plus offsets, and the vocabulary, into `directory`."""
        lengths = np.array([len(t) for t in self._texts], dtype=np.int64)
        offsets = np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(lengths)])
        flat = (np.concatenate(self._texts) if self._texts else np.zeros(0, dtype=np.int32))
        np.save(directory / TOKENS, flat.astype(np.int32, copy=False))
        np.save(directory / TOKEN_OFFSETS, offsets)
        (directory / TOKEN_VOCAB).write_text(json.dumps(sorted(self.vocab, key=self.vocab.get)))

    @classmethod
    def load(cls, directory: Path) -> Tokens:
        """What `save` wrote, the texts memory-mapped."""
        tokens = cls()
        # A plain array over the mapping: slicing numpy's memmap subclass 100k times was
        # most of the load.
        flat = np.asarray(np.load(directory / TOKENS, mmap_mode="r"))
        offsets = np.load(directory / TOKEN_OFFSETS)
        tokens.vocab = {term: i for i, term in
                        enumerate(json.loads((directory / TOKEN_VOCAB).read_text()))}
        tokens._texts = [flat[begin:end] for begin, end in itertools.pairwise(offsets.tolist())]
        return tokens


class LexicalIndex:
    """An in-memory BM25 index over a corpus of chunks; immutable (a store change builds anew).

    Built from chunks (`LexicalIndex(chunks)`), from a `Corpus` and its analysed texts, or
    loaded from what `save` wrote (memory-mapped, so a restart does not re-analyse).
    """

    def __init__(self, chunks: Iterable[Chunk] = ()) -> None:
        chunks = list(chunks)
        tokens = Tokens()
        tokens.add([lexical_text(c) for c in chunks])
        self._setup(Corpus.from_chunks(chunks), tokens)

    @classmethod
    def build(cls, corpus: Corpus, tokens: Tokens) -> LexicalIndex:
        """The index of a corpus, given its chunks' `lexical_text`s analysed, in its order."""
        if len(tokens) != len(corpus):
            raise ValueError("one analysed text per chunk")
        index = cls.__new__(cls)
        index._setup(corpus, tokens)
        return index

    def _setup(self, corpus: Corpus, tokens: Tokens) -> None:
        self._attach(corpus, bm25_index(tokens) if len(tokens) else None)

    def _attach(self, corpus: Corpus, bm25: bm25s.BM25 | None) -> None:
        self._stemmer = Stemmer.Stemmer("english")
        # The answerers analyse every sentence of every passage, and the same sentences and
        # words come back across questions: ~250 analyses an answer, most of its time
        # (docs/benchmarks.md). The cache holds immutable results; callers get copies.
        self._analyse = functools.lru_cache(maxsize=ANALYSIS_CACHE)(self._analyse_text)
        self._analyse_spans = functools.lru_cache(maxsize=ANALYSIS_CACHE)(self._spans_text)
        self.corpus = corpus
        self._bm25 = bm25
        self._idf, self._unseen_idf = _idf(bm25, len(corpus))
        self._outlets = _outlets(corpus.present_sources())

    def save(self, directory: Path) -> None:
        """Write the BM25 arrays and vocabulary into `directory` (the corpus saves itself)."""
        if self._bm25 is not None:
            self._bm25.save(directory, show_progress=False)

    @classmethod
    def load(cls, directory: Path, corpus: Corpus) -> LexicalIndex:
        """The index `save` wrote for this corpus, its arrays memory-mapped."""
        index = cls.__new__(cls)
        bm25 = bm25s.BM25.load(directory, mmap=True, show_progress=False) if len(corpus) else None
        if bm25 is not None:
            if bm25.scores["num_docs"] != len(corpus):
                raise ValueError("the saved BM25 index does not match its corpus")
            # Plain arrays over the mappings: scoring slices them once per query term, and
            # numpy's memmap subclass makes each slice slower.
            bm25.scores = {key: np.asarray(value) if isinstance(value, np.ndarray) else value
                           for key, value in bm25.scores.items()}
        index._attach(corpus, bm25)
        return index

    @property
    def chunks(self) -> Corpus:
        """The indexed chunks, in index order."""
        return self.corpus

    def outlet_names(self) -> dict[str, list[str]]:
        """Each outlet's short name (before " - ", " | " or ":") and its stored source names."""
        return self._outlets

    def __len__(self) -> int:
        return len(self.corpus)

    def query_terms(self, question: str) -> list[str]:
        """The question's stemmed content terms, as the index knows them."""
        return list(self._analyse(question))

    def _analyse_text(self, text: str) -> tuple[str, ...]:
        words = [w for w in _TOKEN.findall(text.lower()) if w not in _STOPWORD_SET]
        return tuple(self._stemmer.stemWords(words))

    def sentence_terms(self, chunk: Chunk) -> tuple[frozenset[str], ...]:
        """The stemmed content terms of each sentence of a chunk (of the whole chunk when it
        has no sentence spans).

        The re-ranker and the answerer read every sentence of their passages for each
        question: one analysis of the passage, cached per passage, costs a fraction of one
        cached analysis per sentence (measured: docs/benchmarks.md).
        """
        spans = chunk.sentences or ((chunk.start, chunk.end),)
        return self._analyse_spans(chunk.text, tuple((s - chunk.start, e - chunk.start)
                                                     for s, e in spans))

    def _spans_text(self, text: str, spans: tuple[tuple[int, int], ...]
                    ) -> tuple[frozenset[str], ...]:
        lowered = text.lower()
        if len(lowered) != len(text):  # lower-casing moved the offsets: analyse span by span
            return tuple(frozenset(self._analyse_text(text[s:e])) for s, e in spans)
        words = [[w for w in _TOKEN.findall(lowered, s, e) if w not in _STOPWORD_SET]
                 for s, e in spans]
        stems = iter(self._stemmer.stemWords([w for span in words for w in span]))
        return tuple(frozenset(itertools.islice(stems, len(span))) for span in words)

    def idf(self, term: str) -> float:
        """How rare a stemmed term is across chunks; unseen terms get the highest weight."""
        column = self._bm25.vocab_dict.get(term) if self._bm25 is not None else None
        # bm25s adds "" to the vocabulary past the last column: no term of any text.
        if column is None or column >= len(self._idf):
            return self._unseen_idf
        return float(self._idf[column])

    def terms(self, text: str) -> set[str]:
        """A text's stemmed content terms (the same analysis as the index)."""
        return set(self.query_terms(text))

    def scores(self, question: str, filters: Filters | None = None) -> np.ndarray:
        """A BM25 score for every indexed chunk (0 for chunks outside the filters)."""
        bm25 = self._bm25
        if bm25 is None:
            return np.zeros(0, dtype=np.float32)
        terms = [t for t in self.query_terms(question) if t in bm25.vocab_dict]
        if not terms:
            return np.zeros(len(self.corpus), dtype=np.float32)
        mask = self.corpus.mask(filters)
        weights = None if mask is None else mask.astype(np.float32)
        return bm25.get_scores(terms, weight_mask=weights).astype(np.float32)

    def best(self, scores: np.ndarray, n: int) -> np.ndarray:
        """The positions of the `n` best chunks by these scores, best first, positive only."""
        if scores.size == 0:
            return np.zeros(0, dtype=np.int64)
        n = min(n, scores.size)
        best = np.argpartition(-scores, n - 1)[:n]
        best = best[np.argsort(-scores[best], kind="stable")]
        return best[scores[best] > 0]


def bm25_index(tokens: Tokens) -> bm25s.BM25:
    """bm25s's index of these texts (its default Lucene BM25), the score matrix computed with
    numpy over all texts at once.

    `bm25s.BM25.index` counts terms one text at a time in Python: at 100k chunks that was 12 of
    the 15 s a snapshot update took (bench/refresh.py). This computes the very same arrays
    (tests/rag/test_lexical.py compares them bit for bit) several times faster; scoring,
    saving and loading stay bm25s's.
    """
    bm25 = bm25s.BM25()
    texts = tokens.arrays
    documents, columns = len(texts), len(tokens.vocab)
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=documents)
    term, document, frequency = _pair_counts(texts, lengths, columns)
    df = np.bincount(term, minlength=columns)
    idf = np.zeros(columns, dtype=np.float32)
    seen = df > 0
    idf[seen] = np.log(1 + (documents - df[seen] + 0.5) / (df[seen] + 0.5))
    # Lucene's term weight idf * tf / (k1 * (1 - b + b * length / mean length) + tf), in
    # float64 and in bm25s's order of operations, so the float32 results are its very bits.
    weight = np.take(lengths.astype(np.float64), document)
    weight *= bm25.b
    weight /= lengths.mean()
    weight += 1 - bm25.b
    weight *= bm25.k1
    weight += frequency
    np.divide(frequency, weight, out=weight)
    weight *= idf[term]
    indptr = np.zeros(columns + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    bm25.scores = {"data": weight.astype(np.float32), "indices": document, "indptr": indptr,
                   "num_docs": documents}
    # As bm25s does: "" (no term of any text) past the last column.
    bm25.vocab_dict = dict(tokens.vocab)
    bm25.vocab_dict.setdefault("", columns)
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
    ids are sorted a 16-bit half at a time: 0.9-1.1 s for the whole index against 1.1-1.7 s
    with `np.unique` on combined keys, at 100k chunks (11M tokens).
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
    frequency = np.diff(np.asarray(bm25.scores["indptr"], dtype=np.int64))
    idf = np.log(1 + (documents - frequency + 0.5) / (frequency + 0.5))
    unseen = float(idf[frequency > 0].max(initial=0.0)) + 1.0
    idf[frequency == 0] = unseen
    return idf, unseen


def _outlets(sources: set[str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for source in sorted(sources):
        short = re.split(r" - | \| |: ", source, maxsplit=1)[0].strip()
        for name in {short, source}:
            grouped.setdefault(name, []).append(source)
    return grouped
