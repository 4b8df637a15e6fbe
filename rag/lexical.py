"""The BM25 index (bm25s), derived from the store's chunks: never a second source of truth.

Each chunk is indexed with its article's title, outlet and date in front of its text: news
questions name outlets, people and dates, and the measured gain from that field text is large
(DESIGN.md). Scores come back for every chunk at once, so fusion can read the lexical score of
a dense hit and the other way round.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

import bm25s
import numpy as np
import Stemmer

from rag.schemas import Chunk, Filters

# NLTK's English list: bm25s's "en" (Lucene's 33 words) keeps "what", "did", "about", which then
# outweigh the words a question is really about.
STOPWORDS = "en_plus"
# bm25s's own analysis (its token pattern, lower case, stopwords, then the stemmer), redone
# here for single texts: bm25s.tokenize builds progress bars and vocabularies on every call,
# which the profile showed as most of an extractive answer's time (it analyses every sentence).
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_STOPWORD_SET = frozenset(bm25s.stopwords.STOPWORDS_EN_PLUS)


def lexical_text(chunk: Chunk) -> str:
    """What BM25 sees of a chunk: title, outlet, date, then the passage."""
    date = chunk.published.strftime("%Y-%m-%d %B %Y") if chunk.published else ""
    return " ".join(part for part in (chunk.title, chunk.source, date, chunk.text) if part)


class LexicalIndex:
    """An in-memory BM25 index over every chunk, rebuilt when the store changes."""

    def __init__(self, chunks: Iterable[Chunk] = ()) -> None:
        self._stemmer = Stemmer.Stemmer("english")
        self._lock = threading.Lock()
        self.chunks: list[Chunk] = []
        self._bm25: bm25s.BM25 | None = None
        self._position: dict[str, int] = {}
        self._columns = _Columns([])
        self._idf: dict[str, float] = {}
        self._unseen_idf = 1.0
        self._outlets: dict[str, list[str]] = {}
        self.rebuild(chunks)

    def rebuild(self, chunks: Iterable[Chunk]) -> None:
        """Index these chunks, replacing whatever was indexed before."""
        chunks = list(chunks)
        columns = _Columns(chunks)
        bm25: bm25s.BM25 | None = None
        if chunks:
            tokens = bm25s.tokenize([lexical_text(c) for c in chunks], stopwords=STOPWORDS,
                                    stemmer=self._stemmer, show_progress=False)
            bm25 = bm25s.BM25()
            bm25.index(tokens, show_progress=False)
            idf = _idf(tokens, len(chunks))
        else:
            idf = {}
        with self._lock:  # swap in one step: readers see the old index or the new, never half
            self.chunks = chunks
            self._bm25 = bm25
            self._position = {c.id: i for i, c in enumerate(chunks)}
            self._columns = columns
            self._idf = idf
            self._unseen_idf = max(idf.values(), default=0.0) + 1.0
            self._outlets = _outlets({c.source for c in chunks if c.source})

    def outlet_names(self) -> dict[str, list[str]]:
        """Each outlet's short name (before " - ", " | " or ":") and its stored source names."""
        with self._lock:
            sources = self._outlets
        return sources

    def __len__(self) -> int:
        return len(self.chunks)

    def query_terms(self, question: str) -> list[str]:
        """The question's stemmed content terms, as the index knows them."""
        words = [w for w in _TOKEN.findall(question.lower()) if w not in _STOPWORD_SET]
        return self._stemmer.stemWords(words)

    def idf(self, term: str) -> float:
        """How rare a stemmed term is across chunks; unseen terms get the highest weight."""
        return self._idf.get(term, self._unseen_idf)

    def terms(self, text: str) -> set[str]:
        """A text's stemmed content terms (the same analysis as the index)."""
        return set(self.query_terms(text))

    def scores(self, question: str, filters: Filters | None = None) -> np.ndarray:
        """A BM25 score for every indexed chunk (0 for chunks outside the filters)."""
        with self._lock:
            bm25, chunks, columns = self._bm25, self.chunks, self._columns
        if bm25 is None:
            return np.zeros(0, dtype=np.float32)
        terms = [t for t in self.query_terms(question) if t in bm25.vocab_dict]
        if not terms:
            return np.zeros(len(chunks), dtype=np.float32)
        mask = columns.mask(filters)
        return bm25.get_scores(terms, weight_mask=mask).astype(np.float32)

    def top(self, scores: np.ndarray, n: int) -> list[tuple[Chunk, float]]:
        """The `n` best chunks by these scores, best first, positive scores only."""
        if scores.size == 0:
            return []
        n = min(n, scores.size)
        best = np.argpartition(-scores, n - 1)[:n]
        best = best[np.argsort(-scores[best])]
        return [(self.chunks[i], float(scores[i])) for i in best if scores[i] > 0]

    def score_of(self, scores: np.ndarray, chunk_id: str) -> float:
        position = self._position.get(chunk_id)
        return float(scores[position]) if position is not None and scores.size else 0.0


def _idf(tokens: bm25s.tokenization.Tokenized, documents: int) -> dict[str, float]:
    """Inverse document frequency of every vocabulary term, smoothed like BM25's."""
    frequency = np.zeros(len(tokens.vocab), dtype=np.int64)
    for ids in tokens.ids:
        frequency[np.unique(np.asarray(ids, dtype=np.int64))] += 1
    weights = np.log(1 + (documents - frequency + 0.5) / (frequency + 0.5))
    # bm25s.index() adds an empty "" token to the vocabulary; it is no term of any text.
    return {term: float(weights[i]) for term, i in tokens.vocab.items() if term}


def _outlets(sources: set[str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for source in sorted(sources):
        short = re.split(r" - | \| |: ", source, maxsplit=1)[0].strip()
        for name in {short, source}:
            grouped.setdefault(name, []).append(source)
    return grouped


class _Columns:
    """Per-chunk metadata as arrays, so a filter is a few vectorised comparisons."""

    def __init__(self, chunks: list[Chunk]) -> None:
        self.source = np.array([c.source or "" for c in chunks], dtype=object)
        self.article = np.array([c.article_id for c in chunks], dtype=object)
        self.day = np.array([c.published.toordinal() if c.published else -1 for c in chunks],
                            dtype=np.int64)

    def mask(self, filters: Filters | None) -> np.ndarray | None:
        if filters is None or filters.is_empty():
            return None
        keep = np.ones(len(self.day), dtype=bool)
        if sources := filters.sources():
            keep &= np.isin(self.source, sources)
        if filters.article_ids:
            keep &= np.isin(self.article, filters.article_ids)
        if filters.published_from:
            keep &= self.day >= filters.published_from.toordinal()
        if filters.published_to:
            keep &= (self.day >= 0) & (self.day <= filters.published_to.toordinal())
        return keep.astype(np.float32)
