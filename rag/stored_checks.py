"""Which articles of one search a store on a Chroma server still holds, asked while the
re-ranker reads its sentence vectors and read when the hits are chosen, so the server answers
while the search works (docs/operations.md, "How search follows the shared store").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import numpy as np

from rag.corpus import Corpus
from rag.sentence_vectors import SentenceVectors
from rag.stored_sentences import StoredSentences


class LaterChecks(Protocol):
    """A store asked which articles it holds, answering later (`Store.existing_ids_later`)."""

    def existing_ids_later(self, article_ids: list[str]) -> Callable[[], set[str]]: ...


class StoredChecks:
    """Which articles of one search's pool the stores on Chroma servers still hold. The
    articles of the passages the re-ranker reads are asked about once their sentence vectors
    are asked for (`ask`), so the servers answer while it works; `existing` reads those
    answers, asking first about any article about to be returned that was not asked about.
    Every store gets its question before any answer is read (`existing_ids_later`): the
    servers answer at once, with no thread."""

    def __init__(self, stores: Sequence[LaterChecks], owner: Mapping[str, int] | None = None,
                 shared: set[int] | None = None) -> None:
        """`owner`: each pooled article's store (default: the first); `shared`: the stores on
        a server (default: all)."""
        self._stores, self._owner = stores, owner
        self._shared = set(range(len(stores))) if shared is None else shared
        self._asked: set[str] = set()
        self._waiting: list[Callable[[], set[str]]] = []
        self._stored: set[str] = set()

    def ask(self, article_ids: list[str]) -> None:
        """Send the question about those of these articles not asked about yet, each to its
        store's server (articles of an embedded store are not asked about)."""
        by_store: dict[int, list[str]] = {}
        for article_id in dict.fromkeys(article_ids):
            if article_id not in self._asked and self._store_of(article_id) in self._shared:
                by_store.setdefault(self._store_of(article_id), []).append(article_id)
                self._asked.add(article_id)
        self._waiting += [self._stores[k].existing_ids_later(ids) for k, ids in by_store.items()]

    def ask_rows(self, corpus: Corpus, positions: np.ndarray) -> None:
        """`ask` about the articles of these rows of `corpus`."""
        self.ask(corpus.articles[corpus.article[positions]].tolist())

    def existing(self, article_ids: list[str]) -> set[str]:
        """Which of these articles are stored (`rag.retrieve.live`'s `existing`): an
        embedded store's all, a server's those its answer holds."""
        self.ask(article_ids)
        waiting, self._waiting = self._waiting, []
        for answer in waiting:
            self._stored |= answer()
        return {a for a in article_ids
                if self._store_of(a) not in self._shared or a in self._stored}

    def _store_of(self, article_id: str) -> int:
        return self._owner[article_id] if self._owner is not None else 0


class CheckedSentences:
    """One store's sentence vectors read for the re-ranker (a `SentenceReader`), telling
    `checks` which articles it reads once their request is sent."""

    def __init__(self, sentences: StoredSentences, corpus: Corpus,
                 checks: StoredChecks) -> None:
        self._sentences, self._corpus, self._checks = sentences, corpus, checks

    @property
    def held(self) -> bool:
        """Whether any chunk has sentence vectors."""
        return self._sentences.held

    def best_cosines(self, positions: Sequence[int], queries: np.ndarray) -> np.ndarray:
        """`SentenceVectors.best_cosines` of these positions."""
        positions = np.asarray(positions, dtype=np.int64)
        answer = self._sentences.rows_later(positions)
        self._checks.ask_rows(self._corpus, positions)
        rows: SentenceVectors = answer()
        return rows.best_cosines(np.arange(len(positions)), queries)

    def cosines(self, position: int, query: np.ndarray) -> np.ndarray:
        """`SentenceVectors.cosines` of a position."""
        return self._sentences.cosines(position, query)
