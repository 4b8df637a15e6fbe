"""Search over a corpus split into partitions (rag/partitions.py): the question is embedded
once, every partition its date filter can touch gives its dense and lexical candidates scored
against the whole corpus's BM25 statistics, and the merged pool is fused, re-ranked and
diversified by the code that ranks one store's (`rag.retrieve.rank`). The deployment, and what
Chroma's distributed mode would take over: docs/operations.md, "Partitions".
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import bm25s
import numpy as np

from rag.config import Settings
from rag.corpus import Corpus
from rag.corpus_statistics import CorpusStatistics
from rag.embeddings import Encoder
from rag.lexical import TermCounts, bm25_scores, top_positions
from rag.partitions import PartitionMap, open_stores, partition_settings
from rag.query import Query, reads_sentences
from rag.retrieve import Pool, Retriever, SearchResult, pool_cosines, rank
from rag.schemas import Filters, Hit
from rag.sentence_vectors import SentenceReader
from rag.snapshot import Snapshot
from rag.store import Store
from rag.stored_checks import StoredChecks
from rag.stored_sentences import StoredSentences


@dataclass(frozen=True)
class Candidates:
    """One partition's answer to a question: its best chunks by cosine (`dense`, with the
    cosines they were chosen by) and by BM25 (`lexical`, with their scores), and for every
    one of them (`rows`, ascending) the cosine and BM25 score fusion reads."""

    dense: np.ndarray
    dense_cosines: np.ndarray
    lexical: np.ndarray
    lexical_scores: np.ndarray
    rows: np.ndarray
    cosines: np.ndarray
    bm25: np.ndarray


class Partition:
    """One partition's searcher: its store's snapshot kept in step (a `Retriever` of its own)
    and the term counts of its analysed texts."""

    def __init__(self, store: Store, encoder: Encoder, settings: Settings) -> None:
        # Term counts are read from the snapshot's analysed texts, which an appended
        # snapshot does not hold in one piece.
        self.retriever = Retriever(store, encoder, settings, append=False)
        self._counted: tuple[Snapshot, TermCounts] | None = None

    @property
    def store(self) -> Store:
        return self.retriever.store

    def current(self) -> tuple[Snapshot, TermCounts]:
        """The current snapshot (refreshed as `Retriever.refresh` does) and its term counts
        (counted once a snapshot)."""
        snapshot = self.retriever.refresh()
        counted = self._counted
        if counted is None or counted[0] is not snapshot:
            counted = (snapshot, TermCounts.of(snapshot.lexical.tokens))
            self._counted = counted
        return counted

    @staticmethod
    def weighed(counts: TermCounts, statistics: CorpusStatistics) -> bm25s.BM25:
        """The partition's BM25 index weighed by the whole corpus's statistics."""
        columns = np.fromiter((statistics.vocab[t] for t in counts.terms), dtype=np.int64,
                              count=len(counts.terms))
        return counts.bm25(statistics.bm25_idf[columns], statistics.mean_length)

    def candidates(self, snapshot: Snapshot, bm25: bm25s.BM25, vector: np.ndarray,
                   terms: list[str], filters: Filters | None, n: int) -> Candidates:
        """The partition's `n` best chunks by cosine and by BM25 within the filters; `bm25`
        its index weighed by the whole corpus's statistics (`weighed`), `terms` the
        question's.

        This is the adapter point where Chroma's distributed or hosted search would take
        over (docs/operations.md, "Partitions"): one `Collection.search` with a dense and a
        BM25 sparse ranking would return the same two lists from the server.
        """
        scores = bm25_scores(bm25, terms, snapshot.corpus.mask(filters))
        dense, dense_cosines = self.retriever.dense_scored(snapshot, vector, filters)
        lexical = snapshot.lexical.best(scores, n)
        rows = np.union1d(dense, lexical)
        return Candidates(dense, dense_cosines, lexical, scores[lexical], rows,
                          pool_cosines(snapshot.vectors, rows, dense, dense_cosines, vector),
                          scores[rows])


class Router:
    """Searches several partitions as one store: the same rankings as one store holding every
    partition's articles (tests/rag/test_partitions.py; docs/operations.md, "Partitions")."""

    def __init__(self, partitions: list[tuple[Store, Settings]], encoder: Encoder,
                 settings: Settings, partition_map: PartitionMap | None = None) -> None:
        """`partitions`: each partition's store and its settings (where it is, where its
        snapshots are saved: `rag.partitions.partition_settings`), in partition order;
        `settings`: the search settings."""
        self.settings = settings
        self.encoder = encoder
        self.map = partition_map or PartitionMap(len(partitions))
        if self.map.count != len(partitions):
            raise ValueError("one store a partition")
        self.partitions = [Partition(store, encoder, own) for store, own in partitions]
        self._weighed: tuple[tuple[int, ...], list[bm25s.BM25], CorpusStatistics] | None = None
        self._lock = threading.Lock()
        # Partitions on a Chroma server: other processes may write to them.
        self._shared = {k for k, p in enumerate(self.partitions)
                        if p.retriever.settings.chroma_url is not None}

    @classmethod
    def open(cls, settings: Settings, encoder: Encoder) -> Router:
        """The router over the partitions `RAG_PARTITIONS` names."""
        return cls(list(zip(open_stores(settings), partition_settings(settings), strict=True)),
                   encoder, settings)

    @property
    def lexical(self) -> CorpusStatistics:
        """The whole corpus's lexical view (idf, analysis, each chunk's terms)."""
        return self.refresh()[2]

    def refresh(self) -> tuple[list[Snapshot], list[bm25s.BM25], CorpusStatistics]:
        """Every partition's current snapshot and BM25 index weighed by the corpus
        statistics, and those statistics: gathered, and the indexes weighed, again only when
        a partition's snapshot changed."""
        current = [partition.current() for partition in self.partitions]
        key = tuple(id(snapshot) for snapshot, _ in current)
        with self._lock:
            if self._weighed is None or self._weighed[0] != key:
                statistics = CorpusStatistics(
                    [(snapshot.lexical, counts) for snapshot, counts in current],
                    lambda chunk: self.map.of(chunk.published))
                self._weighed = (key, [Partition.weighed(counts, statistics)
                                       for _, counts in current], statistics)
            _, indexes, statistics = self._weighed
        return [snapshot for snapshot, _ in current], indexes, statistics

    def search(self, question: str, top_k: int | None = None,
               filters: Filters | None = None) -> SearchResult:
        """`Retriever.search` over every partition: the `top_k` best chunks for the
        question, at most a few per article."""
        snapshots, indexes, statistics = self.refresh()
        top_k = top_k or self.settings.top_k
        query = Query(question, statistics, self.encoder, reads_sentences(
            self.settings, any(snapshot.sentences.held for snapshot in snapshots)))
        if not len(statistics):
            return SearchResult(hits=[], query_vector=query.vector)
        terms = query.terms
        n = self.settings.candidates
        found = {number: self.partitions[number].candidates(
                     snapshots[number], indexes[number], query.vector, terms, filters, n)
                 for number in self.map.touched(filters) if len(snapshots[number].corpus)}
        gathered = self._pool(snapshots, found, n)
        if gathered is None:  # nothing within the filters
            return SearchResult(hits=[], query_vector=query.vector)
        pool, owner = gathered
        return SearchResult(hits=self._ranked(query, pool, owner, statistics, top_k, filters),
                            query_vector=query.vector)

    def _pool(self, snapshots: list[Snapshot],
              found: dict[int, Candidates], n: int) -> tuple[Pool, dict[str, int]] | None:
        """The candidates one store would pool: the `n` best by cosine and the `n` best by
        BM25 over all partitions, gathered into one corpus (partition by partition, each
        partition's rows ascending), and the partition of each of their articles."""
        numbers = [k for k in found if len(found[k].rows)]
        if not numbers:
            return None
        chosen = {k: [] for k in numbers}
        for side, scores_of in (("dense", "dense_cosines"), ("lexical", "lexical_scores")):
            which = np.concatenate([np.full(len(getattr(found[k], side)), k) for k in numbers])
            rows = np.concatenate([getattr(found[k], side) for k in numbers])
            ids = np.concatenate([snapshots[k].corpus.ids[getattr(found[k], side)]
                                  for k in numbers])
            best = top_positions(np.concatenate([getattr(found[k], scores_of)
                                                 for k in numbers]), n, ids)
            for k in numbers:
                chosen[k].append(rows[best[which[best] == k]])
        parts: list[tuple[Corpus, np.ndarray]] = []
        cosines_of, bm25_of, sentences = [], [], []
        owner: dict[str, int] = {}
        for k in numbers:
            candidates, snapshot = found[k], snapshots[k]
            kept = np.union1d(*chosen[k])
            if not kept.size:
                continue
            at = np.searchsorted(candidates.rows, kept)
            parts.append((snapshot.corpus, kept))
            cosines_of.append(candidates.cosines[at])
            bm25_of.append(candidates.bm25[at])
            sentences.append((snapshot.sentences, kept))
            if self._shared:
                held = snapshot.corpus.articles[snapshot.corpus.article[kept]]
                owner.update(dict.fromkeys(held.tolist(), k))
        if not parts:
            return None
        corpus = Corpus.gathered(parts)
        return Pool(corpus, np.arange(len(corpus)), np.concatenate(cosines_of),
                    np.concatenate(bm25_of), PooledSentences(sentences)), owner

    def _ranked(self, query: Query, pool: Pool, owner: dict[str, int],
                statistics: CorpusStatistics, top_k: int, filters: Filters | None) -> list[Hit]:
        """`rank` over the gathered pool; a partition on a Chroma server is asked which of
        the articles about to be returned are still stored (`rag.retrieve.live`), an
        embedded one is this process's alone and its snapshot current (`StoredChecks`)."""
        if not self._shared:
            return rank(query, pool, statistics, self.settings, top_k, filters, None)
        checks = StoredChecks([p.store for p in self.partitions], owner, self._shared)
        if isinstance(pool.sentences, PooledSentences):
            corpus = pool.corpus
            pool.sentences.reading = lambda positions: checks.ask_rows(corpus, positions)
        return rank(query, pool, statistics, self.settings, top_k, filters, checks.existing)


class PooledSentences:
    """The sentence vectors of a gathered pool, read from the partitions holding them (the
    re-ranker reads a few dozen of the pool's rows: nothing is copied for the others)."""

    def __init__(self, parts: list[tuple[SentenceReader, np.ndarray]]) -> None:
        """`parts`: each partition's sentence vectors and its rows in the pool, in pool
        order."""
        # Told the pool positions whose vectors `best_cosines` reads, once their reads are sent.
        self.reading: Callable[[np.ndarray], None] | None = None
        self._parts = [vectors for vectors, _ in parts]
        self._part = np.concatenate([np.full(len(rows), k) for k, (_, rows) in enumerate(parts)])
        self._row = np.concatenate([rows for _, rows in parts])

    def best_cosines(self, positions: Sequence[int], queries: np.ndarray) -> np.ndarray:
        """`SentenceVectors.best_cosines` of these pool positions."""
        positions = np.asarray(positions, dtype=np.int64)
        best = np.zeros((len(positions), len(queries)), dtype=np.float32)
        part = self._part[positions]
        # Every partition's store is asked for the vectors it does not keep in memory before
        # any answer is read, so that partitions on Chroma servers answer at once.
        asked = []
        for k, vectors in enumerate(self._parts):
            if (here := np.flatnonzero(part == k)).size:
                rows = self._row[positions[here]]
                if isinstance(vectors, StoredSentences):
                    asked.append((here, vectors.rows_later(rows)))
                else:
                    best[here] = vectors.best_cosines(rows, queries)
        if self.reading is not None:  # after the reads wanted first
            self.reading(positions)
        for here, answer in asked:
            best[here] = answer().best_cosines(np.arange(len(here)), queries)
        return best

    def cosines(self, position: int, query: np.ndarray) -> np.ndarray:
        """`SentenceVectors.cosines` of a pool position."""
        return self._parts[self._part[position]].cosines(int(self._row[position]), query)
