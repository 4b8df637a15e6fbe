"""Hybrid search: dense (Chroma) and lexical (bm25s) candidates, fused by score, diversified.

Fusion is a weighted sum of each retriever's scores, scaled to the candidate pool, rather than
equal-weight reciprocal-rank fusion: on news, equal RRF measured worse than BM25 alone, because
it gives a weak dense ranking the same say as a strong lexical one (DESIGN.md). Every candidate
gets both scores (BM25 scores exist for all chunks; cosine for lexical-only candidates is read
from their stored vectors), so a chunk found by one retriever is still judged by the other.
We fuse by hand rather than through llama-index's QueryFusionRetriever: it would need both
retrievers to go through its node wrappers and an event loop on every request, for a sum of two
arrays.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from dataclasses import dataclass

import numpy as np

from rag.config import Settings
from rag.embeddings import Encoder
from rag.lexical import LexicalIndex
from rag.question import dates_in
from rag.schemas import Chunk, Filters, Hit
from rag.store import Store


@dataclass
class SearchResult:
    """The fused ranking and the question's vector (the answerer reuses it)."""

    hits: list[Hit]
    query_vector: np.ndarray


class Retriever:
    """Dense + lexical retrieval over one store, with the lexical index kept in step."""

    def __init__(self, store: Store, encoder: Encoder, settings: Settings) -> None:
        self.store = store
        self.encoder = encoder
        self.settings = settings
        self.lexical = LexicalIndex()
        self._lexical_generation = -1
        self._lexical_revision: tuple[str, int, int] | None = None
        self._revision_checked = -float("inf")
        self._refresh_lock = threading.Lock()
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the lexical index if the store changed since it was built.

        A write through this process's store is seen at once (its `generation`); a write by
        another process (a replica sharing the Chroma server, `rag index`) when the store's
        `revision()`, read at most every `lexical_refresh_seconds`, differs from the one read
        before the last rebuild. The revision is read before the chunks, so a write racing
        with a rebuild changes it afterwards and causes another rebuild.
        """
        with self._refresh_lock:
            now = time.monotonic()
            local = self._lexical_generation != self.store.generation
            due = now - self._revision_checked >= self.settings.lexical_refresh_seconds
            if not (local or due):
                return
            generation = self.store.generation
            revision = self.store.revision()
            self._revision_checked = now
            if local or revision != self._lexical_revision:
                self.lexical.rebuild(self.store.committed_chunks())
                self._lexical_generation = generation
                self._lexical_revision = revision

    def search(self, question: str, top_k: int | None = None,
               filters: Filters | None = None) -> SearchResult:
        """The `top_k` best chunks for the question, at most a few per article."""
        self.refresh()
        top_k = top_k or self.settings.top_k
        vector = self.encoder.embed([question])[0]
        lexical_scores = self.lexical.scores(question, filters)
        candidates = self._committed(self._candidates(vector, lexical_scores, filters))
        # News questions name outlets ("as reported by The Verge and TechCrunch"); passages
        # from a named outlet get a bonus. (A separate search within each named outlet was
        # measured too: it added nothing over the bonus, docs/evaluation.md.)
        named = ([] if filters and filters.sources() else self.mentioned_outlets(question))
        hits = self._fuse(list(candidates.values()), {n for names in named for n in names},
                          dates_in(question))
        return SearchResult(hits=self._diversify(hits, top_k), query_vector=vector)

    def mentioned_outlets(self, question: str) -> list[list[str]]:
        """Outlets the question names, each as the stored source names it stands for.

        "The Independent" stands for "The Independent - Sports" and its other sections; a name
        counts only as a whole, case-sensitive phrase ("Fortune", not "fortune").
        """
        found = []
        for short, names in self.lexical.outlet_names().items():
            if re.search(rf"(?<!\w){re.escape(short)}(?!\w)", question):
                found.append(names)
        return found

    def _candidates(self, vector: np.ndarray, lexical_scores: np.ndarray,
                    filters: Filters | None) -> dict[str, tuple[Chunk, float, float]]:
        """The pool of both retrievers within the filters, each chunk with both its scores."""
        pool = self.settings.candidates
        dense = {chunk.id: (chunk, score)
                 for chunk, score in self.store.dense_search(vector, pool, filters)}
        lexical = {chunk.id: (chunk, score)
                   for chunk, score in self.lexical.top(lexical_scores, pool)}
        stored = self.store.chunk_vectors([cid for cid in lexical if cid not in dense])
        candidates: dict[str, tuple[Chunk, float, float]] = {}
        for cid, (chunk, cosine) in dense.items():
            candidates[cid] = (chunk, cosine, self.lexical.score_of(lexical_scores, cid))
        for cid, (chunk, bm25) in lexical.items():
            if cid not in candidates:
                cosine = float(stored[cid] @ vector) if cid in stored else 0.0
                candidates[cid] = (chunk, cosine, bm25)
        return candidates

    def _committed(self, candidates: dict[str, tuple[Chunk, float, float]]
                   ) -> dict[str, tuple[Chunk, float, float]]:
        """Only candidates whose article is stored now (one round trip for the whole pool).

        Dense hits come straight from the chunks collection, which can hold chunks of an
        article whose write is in flight or was interrupted; the lexical index can lag a
        delete made by another process by up to `lexical_refresh_seconds`. Neither is cited.
        """
        articles = sorted({chunk.article_id for chunk, _, _ in candidates.values()})
        live = self.store.existing_ids(articles)
        return {cid: c for cid, c in candidates.items() if c[0].article_id in live}

    def _fuse(self, candidates: list[tuple[Chunk, float, float]],
              boosted_sources: set[str] = frozenset(),
              dates: list[dt.date] | None = None) -> list[Hit]:
        if not candidates:
            return []
        cosines = np.array([c[1] for c in candidates])
        bm25 = np.array([c[2] for c in candidates])
        dense_scaled = _scale(cosines)
        lexical_scaled = bm25 / bm25.max() if bm25.max() > 0 else np.zeros_like(bm25)
        weight = self.settings.dense_weight if bm25.max() > 0 else 1.0
        fused = weight * dense_scaled + (1.0 - weight) * lexical_scaled
        if dates and self.settings.date_boost:
            # Temporal questions name the dates of the reports they compare; a passage
            # published within a day of one of them gets a bonus.
            dated = np.array([c[0].published is not None
                              and any(abs((c[0].published - d).days) <= 1 for d in dates)
                              for c in candidates])
            fused = fused + self.settings.date_boost * dated
        if boosted_sources:
            named = np.array([c[0].source in boosted_sources for c in candidates])
            fused = fused + self.settings.outlet_boost * named
        order = np.argsort(-fused)
        return [Hit(chunk=candidates[i][0], score=float(fused[i]), dense=float(cosines[i]),
                    lexical=float(bm25[i])) for i in order]

    def _diversify(self, hits: list[Hit], top_k: int) -> list[Hit]:
        """Keep the best few chunks per article, and no chunk overlapping a kept one."""
        kept: list[Hit] = []
        per_article: dict[str, int] = {}
        for hit in hits:
            chunk = hit.chunk
            if per_article.get(chunk.article_id, 0) >= self.settings.max_chunks_per_article:
                continue
            if any(k.chunk.article_id == chunk.article_id and _overlap(k.chunk, chunk) > 0.5
                   for k in kept):
                continue
            per_article[chunk.article_id] = per_article.get(chunk.article_id, 0) + 1
            kept.append(hit.model_copy(update={"rank": len(kept) + 1}))
            if len(kept) == top_k:
                break
        return kept


def _scale(values: np.ndarray) -> np.ndarray:
    """Min-max scale to [0, 1] over the pool (a single candidate keeps its raw cosine)."""
    spread = values.max() - values.min()
    return (values - values.min()) / spread if spread > 1e-9 else np.clip(values, 0, 1)


def _overlap(a: Chunk, b: Chunk) -> float:
    """The share of the shorter chunk that the two have in common."""
    shared = min(a.end, b.end) - max(a.start, b.start)
    return max(shared, 0) / max(min(a.end - a.start, b.end - b.start), 1)
