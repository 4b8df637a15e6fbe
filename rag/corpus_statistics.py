"""The BM25 statistics of a corpus split over partitions (document frequencies, document count,
mean length), and the lexical view the re-ranker and answerers read over all of it: idf of the
whole corpus, each chunk's terms from the partition holding it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rag.analysis import Analyzer
from rag.lexical import (
    LexicalIndex,
    TermCounts,
    bm25_idf,
    chunk_passage_terms,
    chunk_sentence_terms,
    outlets_of,
    term_idf,
)
from rag.schemas import Chunk


class CorpusStatistics:
    """What one BM25 index over every partition would weigh terms by, gathered from each
    partition's term counts; the `rag.lexical.LexicalView` `rag.rerank` and the answerers read
    over every partition."""

    def __init__(self, parts: list[tuple[LexicalIndex, TermCounts]],
                 partition_of: Callable[[Chunk], int] | None = None) -> None:
        """`parts`: each partition's index and the term counts of its analysed texts;
        `partition_of`: the partition a chunk is stored in (each partition is asked when not
        given)."""
        self._parts = parts
        self._partition_of = partition_of
        self.analyzer = Analyzer()
        df: dict[str, int] = {}
        for _, counts in parts:
            for term, frequency in zip(counts.terms, counts.df.tolist(), strict=True):
                df[term] = df.get(term, 0) + frequency
        self.vocab = {term: column for column, term in enumerate(df)}
        frequencies = np.fromiter(df.values(), dtype=np.int64, count=len(df))
        self.documents = sum(len(counts.lengths) for _, counts in parts)
        total = sum(int(counts.lengths.sum()) for _, counts in parts)
        # As `lengths.mean()` computes it over one index's lengths: an exact float64 sum,
        # then one division.
        self.mean_length = np.float64(total) / self.documents if self.documents else 0.0
        self.bm25_idf = bm25_idf(frequencies, self.documents)
        self._idf, self._unseen_idf = (term_idf(frequencies, self.documents) if self.documents
                                       else (np.zeros(0), 1.0))
        self._outlets = outlets_of(set().union(*(index.corpus.present_sources()
                                                 for index, _ in parts)))

    def __len__(self) -> int:
        return self.documents

    def outlet_names(self) -> dict[str, list[str]]:
        """`LexicalIndex.outlet_names` over every partition."""
        return self._outlets

    def idf(self, term: str) -> float:
        """`LexicalIndex.idf` over the whole corpus."""
        column = self.vocab.get(term)
        return self._unseen_idf if column is None else float(self._idf[column])

    def sentence_terms(self, chunk: Chunk) -> tuple[frozenset[str], ...]:
        """`LexicalIndex.sentence_terms`, read from the partition holding the chunk (analysed
        here when none does)."""
        holder = self._holder(chunk)
        return (holder.sentence_terms(chunk) if holder is not None
                else chunk_sentence_terms(self.analyzer, chunk))

    def passage_terms(self, chunk: Chunk) -> frozenset[str]:
        """`LexicalIndex.passage_terms`, read from the partition holding the chunk (analysed
        here when none does)."""
        holder = self._holder(chunk)
        return (holder.passage_terms(chunk) if holder is not None
                else chunk_passage_terms(self.analyzer, chunk))

    def _holder(self, chunk: Chunk) -> LexicalIndex | None:
        """The index of the partition holding the chunk; None when no partition does."""
        if self._partition_of is not None:
            return self._parts[self._partition_of(chunk)][0]
        for index, _ in self._parts:
            if index.corpus.position(chunk.id) is not None:
                return index
        return None
