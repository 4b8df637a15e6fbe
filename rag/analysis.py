"""The text analysis the BM25 index and the answerers share: bm25s's token pattern, lower case,
NLTK's English stopwords, then the Snowball stemmer. `Analyzer` analyses texts and spans of
them; it knows no corpus.
"""

from __future__ import annotations

import functools
import itertools
import re

import bm25s
import numpy as np
import Stemmer

# bm25s's own analysis (its token pattern, lower case, stopwords, then the stemmer), redone
# here: bm25s.tokenize gives no offsets (`rag.lexical.Tokens.add`), and builds progress bars and
# vocabularies on every call, which the profile showed as most of an extractive answer's time.
TOKEN = re.compile(r"(?u)\b\w\w+\b")
# NLTK's English list: bm25s's "en" (Lucene's 33 words) keeps "what", "did", "about", which then
# outweigh the words a question is really about.
STOPWORDS = frozenset(bm25s.stopwords.STOPWORDS_EN_PLUS)
# The sentence mark of a term in no sentence of its text (a chunk's title, outlet, date).
NO_SENTENCE = np.iinfo(np.uint16).max
Spans = tuple[tuple[int, int], ...]
# Two word characters in a row: a bound between them would cut a word.
_TWO_WORD_CHARS = re.compile(r"\w\w")
# Texts whose analysis is kept (sentences and words, ~100 bytes each on average).
ANALYSIS_CACHE = 20_000


def stemmer() -> Stemmer.Stemmer:
    """A new English Snowball stemmer (one per holder: a stemmer keeps a cache of its own)."""
    return Stemmer.Stemmer("english")


class Analyzer:
    """A text's stemmed content terms, whole or span by span, with the most recent analyses
    kept (the answerers analyse the same sentences and words across questions)."""

    def __init__(self) -> None:
        self._stemmer = stemmer()
        # The answerers analyse every sentence of every passage, and the same sentences and
        # words come back across questions: most of an answer's time (docs/benchmarks.md).
        # The cache holds immutable results; callers get copies.
        self._analyse = functools.lru_cache(maxsize=ANALYSIS_CACHE)(self._analyse_text)
        self._analyse_spans = functools.lru_cache(maxsize=ANALYSIS_CACHE)(self._spans_text)

    def query_terms(self, question: str) -> list[str]:
        """The question's stemmed content terms, in order (repeats kept)."""
        return list(self._analyse(question))

    def terms(self, text: str) -> set[str]:
        """A text's stemmed content terms."""
        return set(self.query_terms(text))

    def span_terms(self, text: str, spans: Spans) -> tuple[frozenset[str], ...]:
        """The stemmed content terms of each span (offsets into `text`), all analysed in one
        pass."""
        return self._analyse_spans(text, spans)

    def _analyse_text(self, text: str) -> tuple[str, ...]:
        words = [w for w in TOKEN.findall(text.lower()) if w not in STOPWORDS]
        return tuple(self._stemmer.stemWords(words))

    def _spans_text(self, text: str, spans: Spans) -> tuple[frozenset[str], ...]:
        lowered = text.lower()
        if len(lowered) != len(text):  # lower-casing moved the offsets: analyse span by span
            return tuple(frozenset(self._analyse_text(text[s:e])) for s, e in spans)
        words = [[w for w in TOKEN.findall(lowered, s, e) if w not in STOPWORDS]
                 for s, e in spans]
        stems = iter(self._stemmer.stemWords([w for span in words for w in span]))
        return tuple(frozenset(itertools.islice(stems, len(span))) for span in words)


def marked_words(text: str, spans: Spans) -> tuple[list[str], np.ndarray]:
    """A text's content words (bm25s's token pattern, lower case, stopwords out), unstemmed,
    and the span of `spans` (sorted by offset) each lies in: a uint16 array, `NO_SENTENCE`
    for none.

    The text is cut at the spans' bounds and each piece matched on its own, in C (`findall`
    with bounds); where a bound would cut a word, or lower-casing moved the offsets, each
    word's offset is read instead (slower, and rare).
    """
    lowered = text.lower()
    bounds = sorted({0, len(lowered), *(b for span in spans for b in span if 0 < b < len(lowered))})
    if len(lowered) == len(text) and not any(_TWO_WORD_CHARS.match(lowered, b - 1)
                                             for b in bounds[1:-1]):
        pieces = [[w for w in TOKEN.findall(lowered, a, b) if w not in STOPWORDS]
                  for a, b in itertools.pairwise(bounds)]
        sentence_of = {begin: k for k, (begin, _) in enumerate(spans)}
        ends = {begin: end for begin, end in spans}
        piece_marks = []
        for a, b in itertools.pairwise(bounds):
            k = sentence_of.get(a)
            piece_marks.append(k if k is not None and b <= ends[a] else NO_SENTENCE)
        words = [w for piece in pieces for w in piece]
        marks = np.repeat(np.array(piece_marks, dtype=np.uint16), [len(p) for p in pieces])
        return words, marks
    matches = [m for m in TOKEN.finditer(lowered) if m.group() not in STOPWORDS]
    starts = np.fromiter((m.start() for m in matches), dtype=np.int64, count=len(matches))
    if len(lowered) != len(text):  # lower-casing moved the offsets: map them back
        widths = np.cumsum([len(ch.lower()) for ch in text])
        starts = np.searchsorted(widths, starts, side="right")
    return [m.group() for m in matches], _marks(starts, spans, len(matches))


def _marks(starts: np.ndarray, spans: Spans, count: int) -> np.ndarray:
    """The span each word starts in (`NO_SENTENCE` for none), spans sorted by offset."""
    marks = np.full(count, NO_SENTENCE, dtype=np.uint16)
    if spans and len(starts):
        begins = np.fromiter((b for b, _ in spans), dtype=np.int64, count=len(spans))
        ends = np.fromiter((e for _, e in spans), dtype=np.int64, count=len(spans))
        which = np.searchsorted(begins, starts, side="right") - 1
        inside = (which >= 0) & (starts < ends[np.clip(which, 0, None)])
        marks[inside] = which[inside]
    return marks
