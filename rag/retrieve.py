"""Hybrid search: dense and lexical (bm25s) candidates over the search snapshot, fused by a
weighted sum of their scores, diversified. Why a weighted sum and not reciprocal-rank fusion,
and what Chroma requests were taken out of a query: docs/answering.md, "Hybrid search".
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.config import Settings
from rag.corpus import Corpus
from rag.embeddings import Encoder
from rag.errors import NewsragError
from rag.file_reads import page_cache_budget, read_ahead
from rag.lexical import LexicalIndex, LexicalView, top_positions
from rag.query import Query, mentioned_outlets
from rag.rerank import rerank
from rag.schemas import Filters, Hit
from rag.segments import StackedRows
from rag.sentence_vectors import SentenceReader
from rag.snapshot import Snapshot, load_or_build, root_for
from rag.store import Store
from rag.stored_checks import CheckedSentences, StoredChecks
from rag.stored_sentences import StoredSentences
from rag.stored_vectors import StoredVectors

# A snapshot read that fails (a concurrent change, a server away) is tried this often.
REFRESH_ATTEMPTS = 3
REFRESH_BACKOFF_SECONDS = 0.2
# Copies of one story whose best passages score at least this share of the story's best are
# equally good: the earliest published of them is cited (docs/answering.md, "One passage per
# story"); copies cut a story's text differently into passages, which moves their scores a
# little.
ORIGINAL_SHARE = 0.9

log = logging.getLogger(__name__)


class SnapshotUnavailable(NewsragError, RuntimeError):
    """The store could not be read for search, and no earlier snapshot of it is held."""

    code = "store_unavailable"
    status = 503


@dataclass
class SearchResult:
    """The fused ranking and the question's vector (the answerer reuses it)."""

    hits: list[Hit]
    query_vector: np.ndarray


class Retriever:
    """Dense + lexical retrieval over one store, with its snapshot kept in step."""

    def __init__(self, store: Store, encoder: Encoder, settings: Settings,
                 append: bool = True) -> None:
        """`append`: a write's articles are searched beside the snapshot they were added to
        (`rag.snapshot.Snapshot.appended`) rather than indexed with it anew."""
        self.store = store
        self.encoder = encoder
        self.settings = settings
        self.append = append
        self._snapshot = Snapshot.empty()
        self._generation = -1
        self._revision_checked = -float("inf")
        self._refresh_lock = threading.Lock()
        self.refresh()

    @property
    def lexical(self) -> LexicalIndex:
        """The current BM25 index (the answerers analyse text with it)."""
        return self._snapshot.lexical

    def snapshot_root(self) -> Path:
        """Where snapshots of this store are saved for the next start."""
        return root_for(self.settings)

    def warm_page_cache(self) -> int:
        """Have the kernel read the current snapshot's saved files into its page cache
        (`rag.file_reads.read_ahead`, within half the memory available), so that the first
        questions after a start do not wait on the disk; nothing is kept in the process.
        Returns the bytes asked for."""
        return read_ahead(self._snapshot.saved_files(), page_cache_budget())

    @property
    def ready(self) -> bool:
        """Whether a snapshot of the store has been read (searches have something to search)."""
        return self._snapshot.revision is not None

    def refresh(self) -> Snapshot:
        """The current snapshot, replaced first if the store changed since it was taken.

        A write through this process's store is seen at once (its `generation`); a write by
        another process (a replica sharing the Chroma server) when the store's `revision()`,
        read at most every `snapshot_refresh_seconds`, differs from the snapshot's. The
        revision is read before the chunks, so a write racing with a rebuild changes it
        afterwards and causes another rebuild. A snapshot saved by an earlier run for the very
        same revision is loaded instead of rebuilt.

        A read that fails midway (another process deleting what it reads, a server briefly
        away) is tried again; if it keeps failing, searches go on with the previous snapshot
        and the next one tries again. Raises `SnapshotUnavailable` only when there is no
        previous snapshot to fall back on.
        """
        with self._refresh_lock:
            now = time.monotonic()
            local = self._generation != self.store.generation
            due = now - self._revision_checked >= self.settings.snapshot_refresh_seconds
            if local or due:
                generation = self.store.generation
                self._revision_checked = now
                if self._replace_snapshot(force=local):
                    self._generation = generation
            return self._snapshot

    def _replace_snapshot(self, force: bool) -> bool:
        """Bring the snapshot to the store's current revision; False when that failed."""
        failure: Exception | None = None
        for attempt in range(REFRESH_ATTEMPTS):
            try:
                revision = (self.store.revision() if force
                            else self.store.revision_since(self._snapshot.revision))
                if force or revision != self._snapshot.revision:
                    self._snapshot = load_or_build(
                        self.store, revision, self.snapshot_root(), previous=self._snapshot,
                        append=self.append,
                        scanned_up_to=self.settings.exact_search_max_chunks)
                return True
            # Chroma raises several error types when what it reads changes underneath, and
            # a remote store adds its transport's: whatever it is, the old snapshot stands.
            except Exception as error:
                failure = error
                log.warning("reading the store for search failed (attempt %d of %d): %s",
                            attempt + 1, REFRESH_ATTEMPTS, error)
                time.sleep(REFRESH_BACKOFF_SECONDS * (attempt + 1))
        if not self.ready:
            raise SnapshotUnavailable(f"the store could not be read: {failure}",
                                          retry_after="5") from failure
        log.error("searching the previous snapshot of the store: %s", failure)
        return False

    def read(self, question: str, snapshot: Snapshot | None = None) -> Query:
        """The question read over `snapshot` (default: the current one), to be searched
        there (`search`)."""
        return Query.of(question, snapshot or self.refresh(), self.encoder, self.settings)

    def search(self, question: str | Query, top_k: int | None = None,
               filters: Filters | None = None) -> SearchResult:
        """The `top_k` best chunks for the question, at most a few per article: a text is
        searched in the current snapshot, a `Query` (`read`) in the snapshot it was read
        over."""
        query = self.read(question) if isinstance(question, str) else question
        snapshot = query.snapshot
        if snapshot is None:
            raise ValueError("a question read over no snapshot cannot be searched here")
        top_k = top_k or self.settings.top_k
        vector = query.vector
        corpus = snapshot.corpus
        if not len(corpus):
            return SearchResult(hits=[], query_vector=vector)
        lexical_scores = snapshot.lexical.scores(query.text, filters)
        dense, dense_cosines = self.dense_scored(snapshot, vector, filters)
        pool = np.union1d(dense, snapshot.lexical.best(lexical_scores, self.settings.candidates))
        if not pool.size:  # nothing within the filters
            return SearchResult(hits=[], query_vector=vector)
        sentences, checks = snapshot.sentences, None
        if self.settings.chroma_url is not None:  # a store other processes write to
            checks = StoredChecks([self.store])
            if isinstance(sentences, StoredSentences):
                sentences = CheckedSentences(sentences, corpus, checks)
        candidates = Pool(corpus, pool,
                          pool_cosines(snapshot.vectors, pool, dense, dense_cosines, vector),
                          lexical_scores[pool], sentences)
        hits = rank(query, candidates, snapshot.lexical, self.settings, top_k, filters,
                    checks.existing if checks else None)
        return SearchResult(hits=hits, query_vector=vector)

    def mentioned_outlets(self, question: str) -> list[list[str]]:
        """Outlets the question names, each as the stored source names it stands for
        (`mentioned_outlets`)."""
        return mentioned_outlets(question, self.lexical.outlet_names())

    def dense_candidates(self, snapshot: Snapshot, vector: np.ndarray,
                         filters: Filters | None) -> np.ndarray:
        """Positions of the chunks nearest to the vector, within the filters."""
        return self.dense_scored(snapshot, vector, filters)[0]

    def dense_scored(self, snapshot: Snapshot, vector: np.ndarray,
                     filters: Filters | None) -> tuple[np.ndarray, np.ndarray]:
        """`dense_candidates`, and their cosines to the vector as the exact search ranks
        them (einsum's, row by row)."""
        n = self.settings.candidates
        corpus = snapshot.corpus
        if len(corpus) > self.settings.exact_search_max_chunks:
            # Chroma may return chunks the snapshot does not hold (written since, or of an
            # article not committed): they are left out, as the lexical side cannot see them.
            nearest = self.store.nearest(vector, n, filters)
            found = corpus.positions([i for i, _ in nearest])
            positions = found[found >= 0]
            if isinstance(snapshot.vectors, StoredVectors):  # Chroma's cosines: no second read
                return positions, np.array([c for _, c in nearest], np.float32)[found >= 0]
            return positions, np.einsum("ij,j->i", snapshot.vectors[positions], vector)
        # einsum, not `@`: numpy's OpenBLAS splits the product over every core, and on a busy
        # machine waiting for the other threads costs more than the product; einsum's own loop
        # stays on the request's thread.
        vectors = snapshot.vectors
        cosines = (vectors.dot(vector) if isinstance(vectors, StackedRows)
                   else np.einsum("ij,j->i", vectors, vector))
        mask = corpus.mask(filters)
        if mask is not None:
            cosines = np.where(mask, cosines, -np.inf)
        best = top_positions(cosines, n, corpus.ids)
        best = best[np.isfinite(cosines[best])]
        return best, cosines[best]


def pool_cosines(vectors: np.ndarray | StackedRows | StoredVectors, rows: np.ndarray,
                 dense: np.ndarray, dense_cosines: np.ndarray,
                 vector: np.ndarray) -> np.ndarray:
    """Each pool row's cosine to the question (float32, in the order of `rows`). Where the
    vectors are the store's (above the exact-scan limit, where reading one is a request to
    Chroma), a row the dense search found (`dense`) keeps the cosine it gave (`dense_cosines`)
    and only the others are read; elsewhere every row's vector is multiplied."""
    if not isinstance(vectors, StoredVectors):
        return vectors[rows] @ vector
    given = dict(zip(dense.tolist(), dense_cosines.tolist(), strict=True))
    cosines = np.array([given.get(row, np.nan) for row in rows.tolist()], dtype=np.float32)
    unread = np.isnan(cosines)
    if unread.any():
        cosines[unread] = vectors[rows[unread]] @ vector
    return cosines


@dataclass(frozen=True)
class Pool:
    """The candidates of one search: rows of `corpus` (and of `sentences`) with their cosine
    to the question and their BM25 score. One store's pool holds rows of its snapshot; a
    router's, the rows it gathered from its partitions (rag/router.py)."""

    corpus: Corpus
    positions: np.ndarray
    cosines: np.ndarray
    bm25: np.ndarray
    sentences: SentenceReader


def rank(query: Query, pool: Pool, lexical: LexicalView, settings: Settings, top_k: int,
         filters: Filters | None, existing: Callable[[list[str]], set[str]] | None) -> list[Hit]:
    """The pool fused, re-ranked and diversified: the `top_k` hits, best first.

    `lexical` gives the analysis and idf the re-ranker reads (the whole corpus's); `existing`
    answers which of some article ids are still stored, for a store other processes write to
    (None when only this process does: see `live`)."""
    vector, corpus = query.vector, pool.corpus
    pool_positions, cosines, bm25 = pool.positions, pool.cosines, pool.bm25
    depth = settings.rerank_depth
    # News questions name outlets ("as reported by The Verge and TechCrunch"); passages
    # from a named outlet get a bonus. (A separate search within each named outlet was
    # measured too: it added nothing over the bonus, docs/evaluation.md.)
    named = [] if filters and filters.sources() else query.outlets
    fused = fuse(corpus, pool_positions, cosines, bm25, {n for names in named for n in names},
                 query.dates, settings)
    ranked = pool_positions[np.argsort(-fused, kind="stable")]
    where = {int(p): i for i, p in enumerate(pool_positions)}

    built: dict[int, Hit] = {}  # a Chunk is built once, only for hits that need one

    def hit(position: int) -> Hit:
        if position not in built:
            i = where[position]
            built[position] = Hit(chunk=corpus[position], score=float(fused[i]),
                                  dense=float(cosines[i]), lexical=float(bm25[i]))
        return built[position]

    # The second stage re-scores the best few by their best sentence (rag/rerank.py);
    # the rest keep their order after them.
    if depth:
        # With no clause and the whole-question weight at 0 (the default), no cosine
        # could change a score: none is computed.
        weighed = query.clauses or settings.sentence_vector_weight
        meaning = (pool.sentences.best_cosines(ranked[:depth],
                                               np.vstack([vector, query.clause_vectors]))
                   if query.by_sentence and weighed else None)
        head = rerank(query, [hit(int(p)) for p in ranked[:depth]], lexical, settings,
                      named, query.clauses, meaning)
        position_of = {str(corpus.ids[p]): int(p) for p in ranked[:depth]}
        for rescored in head:
            built[position_of[rescored.chunk.id]] = rescored
        ranked = np.concatenate([np.array([position_of[h.chunk.id] for h in head],
                                          dtype=ranked.dtype), ranked[depth:]])
    order = np.array([built[p].score if p in built else fused[where[p]]
                      for p in ranked.tolist()], dtype=np.float64)
    kept = live(corpus, ranked, top_k, carriers(corpus, ranked, order),
                settings.max_chunks_per_article, existing)
    hits = [hit(p).model_copy(update={"rank": place, "meaning": tuple(
                pool.sentences.cosines(p, vector).tolist()) if query.by_sentence else ()})
            for place, p in enumerate(kept, start=1)]
    if depth:
        hits = _scores_falling(hits)
    return hits


def fuse(corpus: Corpus, pool: np.ndarray, cosines: np.ndarray, bm25: np.ndarray,
         boosted_sources: set[str], dates: list[dt.date], settings: Settings) -> np.ndarray:
    """The fused score of each pool position (same order as `pool`)."""
    dense_scaled = _scale(cosines)
    top = bm25.max()
    lexical_scaled = bm25 / top if top > 0 else np.zeros_like(bm25)
    weight = settings.dense_weight if top > 0 else 1.0
    fused = weight * dense_scaled + (1.0 - weight) * lexical_scaled
    if dates and settings.date_boost:
        # Temporal questions name the dates of the reports they compare; a passage
        # published within a day of one of them gets a bonus.
        days = corpus.day[pool].astype(np.int64)
        near = np.zeros(len(pool), dtype=bool)
        for date in dates:
            near |= (days >= 0) & (np.abs(days - date.toordinal()) <= 1)
        fused = fused + settings.date_boost * near
    if boosted_sources:
        named = np.isin(corpus.source[pool], corpus.source_codes(boosted_sources))
        fused = fused + settings.outlet_boost * named
    return fused


def live(corpus: Corpus, ranked: np.ndarray, top_k: int, carrier: dict[int, int], cap: int,
         existing: Callable[[list[str]], set[str]] | None) -> list[int]:
    """The diversified top positions, of articles still stored.

    The snapshot holds only articles committed at its revision, so orphan chunks (a write
    in flight or interrupted) never appear. When other processes write to the store (a
    Chroma server's replicas or workers), one may have deleted an article
    since: that is seen at the next revision check, up to `snapshot_refresh_seconds`
    later, and meanwhile one round trip (`existing`) for the few articles about to be
    returned (not the whole pool) keeps it from being cited. A store only this process
    writes to refreshes the snapshot before the next search after every write, so there
    the check is skipped (`existing` None). A store is shared exactly when it is on a
    Chroma server: an embedded one is one process's (rag/ownership.py).
    """
    excluded: set[int] = set()
    while True:
        kept = diversify(corpus, ranked, top_k, excluded, carrier, cap)
        if existing is None:
            return kept
        codes = sorted({int(corpus.article[p]) for p in kept})
        ids = [str(corpus.articles[c]) for c in codes]
        stored = existing(ids)
        gone = {c for c, article_id in zip(codes, ids, strict=True) if article_id not in stored}
        if not gone:
            return kept
        excluded |= gone


def diversify(corpus: Corpus, ranked: np.ndarray, top_k: int, excluded: set[int],
              carrier: dict[int, int], cap: int) -> list[int]:
    """Keep the best few chunks per story (`cap` an article), all of one carrier
    (`carrier`: each story's article, by code; a story whose carrier is `excluded` falls to
    its next best one), and no chunk overlapping a kept one."""
    kept: list[int] = []
    per_article: dict[int, list[tuple[int, int]]] = {}
    chosen: dict[int, int] = {}  # story code: the carrier kept
    spans = zip(ranked.tolist(), corpus.article[ranked].tolist(),
                corpus.story[ranked].tolist(), corpus.start[ranked].tolist(),
                corpus.end[ranked].tolist(), strict=True)
    for position, article, story, start, end in spans:
        if article in excluded:
            continue
        preferred = carrier.get(story, article)
        if preferred in excluded:
            preferred = article
        if chosen.setdefault(story, preferred) != article:
            continue
        same = per_article.setdefault(article, [])
        if len(same) >= cap or any(_overlap((start, end), span) > 0.5 for span in same):
            continue
        same.append((start, end))
        kept.append(position)
        if len(kept) == top_k:
            break
    return kept


def carriers(corpus: Corpus, ranked: np.ndarray, scores: np.ndarray) -> dict[int, int]:
    """Each story's carrier (by code) among the ranked positions: of the copies whose best
    passage scores at least `ORIGINAL_SHARE` of the story's best, the earliest published (the
    undated last), then the story's first stored copy. `scores` are the ranked positions'."""
    stories = corpus.story[ranked]
    articles = corpus.article[ranked]
    found: dict[int, int] = {}
    if len(np.unique(stories)) == len(np.unique(articles)):
        return found  # one carrier a story here: nothing to choose
    best: dict[int, float] = {}
    for story, score in zip(stories.tolist(), scores.tolist(), strict=True):
        best.setdefault(story, score)  # ranked best first
    keys: dict[int, tuple[int, bool, int]] = {}
    for rank, (story, article, score) in enumerate(zip(stories.tolist(), articles.tolist(),
                                                       scores.tolist(), strict=True)):
        if score < ORIGINAL_SHARE * best[story] or article in keys:
            continue
        day = int(corpus.day[ranked[rank]])
        key = (day if day >= 0 else 10**9,
               str(corpus.articles[article]) != str(corpus.stories[story]), rank)
        keys[article] = key
        if story not in found or key < keys[found[story]]:
            found[story] = article
    return found


def _scores_falling(hits: list[Hit]) -> list[Hit]:
    """Hits whose scores never rise with rank: one beyond the re-ranking depth (still scored
    by fusion, on another scale) scores no higher than the hit before it."""
    out: list[Hit] = []
    for hit in hits:
        if out and hit.score > out[-1].score:
            hit = hit.model_copy(update={"score": out[-1].score})
        out.append(hit)
    return out


def _scale(values: np.ndarray) -> np.ndarray:
    """Min-max scale to [0, 1] over the pool (a single candidate keeps its raw cosine)."""
    spread = values.max() - values.min()
    return (values - values.min()) / spread if spread > 1e-9 else np.clip(values, 0, 1)


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> float:
    """The share of the shorter span that the two have in common."""
    shared = min(a[1], b[1]) - max(a[0], b[0])
    return max(shared, 0) / max(min(a[1] - a[0], b[1] - b[0]), 1)
