"""A question read once: its weighted terms, clauses, dates, names, outlets named, speech
reading and vectors, each worked out on first use and kept for retrieval, re-ranking and
answering (docs/answering.md, "What a question asks")."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from rag.config import Settings
from rag.coverage import term_weights
from rag.embeddings import Encoder, embed_with_parts
from rag.lexical import LexicalView
from rag.question import Speech, dates_in, names_in, speech_of, speech_question, who_said

if TYPE_CHECKING:
    from rag.snapshot import Snapshot

# Where a compound question divides: commas, semicolons and joining words.
_CLAUSE_BREAK = re.compile(
    r",\s*(?:and\s+|or\s+|while\s+|but\s+)?|\s+(?:and|while|whereas|but|or)\s+|;\s*|\?\s*")
# A clause needs this many content terms to stand for a piece of evidence.
MIN_CLAUSE_TERMS = 2


@dataclass(frozen=True)
class Clause:
    """A clause of a question: where it lies in the question, and its weighted content terms."""

    span: tuple[int, int]
    weights: dict[str, float]


def clauses(question: str, lexical: LexicalView) -> list[Clause]:
    """The question's clauses that name enough content terms to stand for a piece of
    evidence."""
    found, begin = [], 0
    for cut in [*_CLAUSE_BREAK.finditer(question), None]:
        end = cut.start() if cut else len(question)
        if end > begin:
            weights = term_weights(question[begin:end], lexical)
            if len(weights) >= MIN_CLAUSE_TERMS:
                found.append(Clause((begin, end), weights))
        begin = cut.end() if cut else end
    return found


def mentioned_outlets(question: str, outlet_names: dict[str, list[str]]) -> list[list[str]]:
    """Outlets the question names, each as the stored source names it stands for
    (`outlet_names`: `LexicalIndex.outlet_names`).

    "The Independent" stands for "The Independent - Sports" and its other sections; a name
    counts only as a whole, case-sensitive phrase ("Fortune", not "fortune").
    """
    found = []
    for short, names in outlet_names.items():
        # The substring test first: a regex a name was most of this function's time.
        if short in question and re.search(rf"(?<!\w){re.escape(short)}(?!\w)", question):
            found.append(names)
    return found


class Query:
    """A question as retrieval, re-ranking and answering read it, each reading made once.

    `text` is the question as searched; `lexical` weighs its terms (the snapshot's index, or
    the whole corpus's statistics); `snapshot` is the one it is searched in (None when read
    over several, rag/router.py). Its vectors need an `encoder`; `by_sentence`: the re-ranker
    reads sentence vectors, so the clauses are embedded with the question.
    """

    def __init__(self, text: str, lexical: LexicalView, encoder: Encoder | None = None,
                 by_sentence: bool = False, snapshot: Snapshot | None = None) -> None:
        self.text = text
        self.lexical = lexical
        self.encoder = encoder
        self.by_sentence = by_sentence
        self.snapshot = snapshot

    @classmethod
    def of(cls, text: str, snapshot: Snapshot, encoder: Encoder, settings: Settings) -> Query:
        """The question read over `snapshot`, to be searched there."""
        return cls(text, snapshot.lexical, encoder,
                   reads_sentences(settings, snapshot.sentences.held), snapshot)

    @classmethod
    def read(cls, question: str | Query, lexical: LexicalView) -> Query:
        """`question` as given when it is read already, else its text read over `lexical`
        (with no vector)."""
        return question if isinstance(question, Query) else cls(question, lexical)

    @cached_property
    def terms(self) -> list[str]:
        """The question's analysed terms, as BM25 scores them (`Analyzer.query_terms`)."""
        return self.lexical.analyzer.query_terms(self.text)

    @cached_property
    def weights(self) -> dict[str, float]:
        """The content terms, each weighted by its rarity (`rag.coverage.term_weights`)."""
        return term_weights(self.text, self.lexical)

    @cached_property
    def clauses(self) -> list[Clause]:
        """The clauses that stand for a piece of evidence each (`clauses`)."""
        return clauses(self.text, self.lexical)

    @cached_property
    def dates(self) -> list[dt.date]:
        """The calendar dates the question states (`rag.question.dates_in`)."""
        return dates_in(self.text)

    @cached_property
    def names(self) -> list[str]:
        """The names the question holds, in order (`rag.question.names_in`)."""
        return names_in(self.text)

    @cached_property
    def outlets(self) -> list[list[str]]:
        """The outlets the question names, each as its stored source names."""
        return mentioned_outlets(self.text, self.lexical.outlet_names())

    @cached_property
    def speech(self) -> Speech | None:
        """Who it asks said what, and about what, on the pattern alone
        (`rag.question.speech_of`)."""
        return speech_of(self.text)

    @cached_property
    def speaker(self) -> Speech | None:
        """The speech reading when its subject may be a speaker, not an outlet named
        (`rag.question.speech_question`)."""
        return speech_question(self.text, self.lexical.outlet_names(),
                               lambda _: self.speech)

    @cached_property
    def claim(self) -> str | None:
        """What a "Who said ...?" question asks about (`rag.question.who_said`)."""
        return who_said(self.text)

    @property
    def asks_who_said_what(self) -> bool:
        """Whether it asks what someone said: only these are answered from statements."""
        return self.speaker is not None or self.claim is not None

    @cached_property
    def _vectors(self) -> tuple[np.ndarray, np.ndarray | None]:
        if self.encoder is None:
            raise ValueError("a question read without an encoder has no vector")
        if self.by_sentence:
            return embed_with_parts(self.encoder, self.text, [c.span for c in self.clauses])
        return self.encoder.embed([self.text])[0], None

    @property
    def vector(self) -> np.ndarray:
        """The question's vector."""
        return self._vectors[0]

    @property
    def clause_vectors(self) -> np.ndarray | None:
        """Each clause's vector, a row each, read in the whole question's context; None
        unless `by_sentence`."""
        return self._vectors[1]


def reads_sentences(settings: Settings, sentences_held: bool) -> bool:
    """Whether the re-ranker reads sentence vectors: it re-ranks, they are on, and the store
    holds some (`sentences_held`)."""
    return bool(settings.rerank_depth and settings.sentence_vectors and sentences_held)
