"""A base snapshot and the articles appended to it since, read as one: their vectors and BM25
index, with the appended chunks scored by the base's BM25 statistics
(docs/operations.md, "How search follows the shared store").
"""

from __future__ import annotations

import bm25s
import numpy as np

from rag.analysis import Analyzer
from rag.corpus import Corpus
from rag.lexical import (
    LexicalIndex,
    TermCounts,
    Tokens,
    best_positive,
    bm25_idf,
    outlets_of,
)
from rag.schemas import Chunk, Filters


def weighed_by(base: LexicalIndex, tokens: Tokens) -> bm25s.BM25 | None:
    """bm25s's index of these analysed texts weighed as the base index weighs its own: the
    base's document frequencies (the texts' own for a term the base does not hold), chunk
    count and mean length. None for no text."""
    if not len(tokens):
        return None
    counts = TermCounts.of(tokens)
    df = base.document_frequencies(counts.terms)
    df = np.where(df > 0, df, counts.df)
    return counts.bm25(bm25_idf(df, max(len(base), 1)), base.mean_length() or 1.0)


class StackedRows:
    """The rows of two matrices, one after the other, without copying either (a base's
    memory-mapped vectors and the appended chunks')."""

    def __init__(self, first: np.ndarray, second: np.ndarray) -> None:
        self.first, self.second = first, second
        self.shape = (len(first) + len(second), second.shape[1] if len(second)
                      else first.shape[1])
        self.dtype = first.dtype

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), self.shape[1]), dtype=self.dtype)
        below = rows < len(self.first)
        out[below] = self.first[rows[below]]
        out[~below] = self.second[rows[~below] - len(self.first)]
        return out

    def dot(self, vector: np.ndarray) -> np.ndarray:
        """Each row's dot product with the vector (einsum's, row by row, as for one matrix)."""
        return np.concatenate([np.einsum("ij,j->i", part, vector)
                               for part in (self.first, self.second)])

    def __array__(self, dtype: np.dtype | None = None, copy: bool | None = None) -> np.ndarray:
        joined = np.concatenate([self.first, self.second]) if len(self.second) else self.first
        return joined if dtype is None else joined.astype(dtype)


class AppendedIndex:
    """A base's BM25 index and the appended chunks' (weighed by the base's statistics,
    `weighed_by`), read as one index over `corpus` (the base's rows, then the appended ones):
    a `LexicalView`, plus the scoring and rows a snapshot's index offers."""

    def __init__(self, base: LexicalIndex, added: LexicalIndex, corpus: Corpus) -> None:
        self.base, self.added, self.corpus = base, added, corpus
        self._shift = len(base)
        self._outlets = outlets_of(base.corpus.present_sources()
                                   | added.corpus.present_sources())

    @property
    def chunks(self) -> Corpus:
        return self.corpus

    def __len__(self) -> int:
        return len(self.corpus)

    def outlet_names(self) -> dict[str, list[str]]:
        return self._outlets

    @property
    def analyzer(self) -> Analyzer:
        return self.base.analyzer

    def idf(self, term: str) -> float:
        """The base's idf (a term only appended chunks hold weighs as one never seen)."""
        return self.base.idf(term)

    def _holder(self, chunk: Chunk) -> LexicalIndex:
        return self.added if self.added.corpus.position(chunk.id) is not None else self.base

    def sentence_terms(self, chunk: Chunk) -> tuple[frozenset[str], ...]:
        return self._holder(chunk).sentence_terms(chunk)

    def passage_terms(self, chunk: Chunk) -> frozenset[str]:
        return self._holder(chunk).passage_terms(chunk)

    def terms_at(self, position: int) -> frozenset[str]:
        if position < self._shift:
            return self.base.terms_at(position)
        return self.added.terms_at(position - self._shift)

    def scores(self, question: str, filters: Filters | None = None) -> np.ndarray:
        """A BM25 score for every chunk, base rows first (0 outside the filters)."""
        return np.concatenate([self.base.scores(question, filters),
                               self.added.scores(question, filters)])

    def best(self, scores: np.ndarray, n: int) -> np.ndarray:
        """`LexicalIndex.best` over every chunk."""
        return best_positive(scores, n, self.corpus.ids)
