"""How a question's time words change what is searched: the publication-date range they name
joins the filters (unless the request set dates), the newest passages come first when they
ask for the latest, and an answer that finds nothing in the range says so
(docs/answering.md, "Time in questions").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from rag.corpus import Corpus
from rag.query import Query
from rag.retrieve import Retriever, SearchResult
from rag.schemas import Answer, Filters, Hit, TimeReading
from rag.timespan import TimeSpan, read_time

# Passages a "latest" question draws from before the newest are moved up: this many times
# the passages asked for (at most `MAX_POOL`), so a newer passage just below the cut can rise.
POOL_FACTOR = 2
MAX_POOL = 50


def anchor_of(corpus: Corpus, kind: str, today: dt.date | None = None) -> dt.date:
    """The date relative time words count from: the newest publication date the corpus holds
    (`kind` "corpus"; today's when no article is dated), or `today` (default: the UTC date)."""
    today = today or dt.datetime.now(dt.UTC).date()
    if kind == "corpus" and (newest := corpus.newest_day) is not None:
        return dt.date.fromordinal(newest)
    return today


@dataclass(frozen=True)
class Scope:
    """A question as it is searched: its text (without the time words a range was read
    from), its filters, and its time reading for the response."""

    question: str
    filters: Filters | None
    reading: TimeReading | None
    span: TimeSpan | None

    @property
    def ranged(self) -> bool:
        """Whether a range read from the question was searched."""
        return self.reading is not None and self.reading.applied and self.span.is_range

    @property
    def newest_first(self) -> bool:
        return self.reading is not None and self.reading.newest_first

    def search(self, retriever: Retriever, top_k: int | None, weight: float,
               query: Query | None = None) -> SearchResult:
        """The retriever's hits for the scoped question (`query`: its reading, when read
        already, `Retriever.read`); for a "latest" question, drawn from a deeper pool and
        ordered with `newest_first`."""
        top_k = top_k or retriever.settings.top_k
        asked = self.question if query is None else query
        if not (self.newest_first and weight):
            return retriever.search(asked, top_k, self.filters)
        pool = min(max(top_k, POOL_FACTOR * top_k), MAX_POOL)
        result = retriever.search(asked, pool, self.filters)
        return SearchResult(hits=newest_first(result.hits, weight)[:top_k],
                            query_vector=result.query_vector)

    def later(self) -> Scope | None:
        """The scope of articles published from the range's start on, with no end: what
        happened in the range, reported later ("What campaign did Islamabad start in November
        2023?", reported in March 2024). None without a closed range read from the question."""
        if not (self.ranged and self.span.start and self.span.end):
            return None
        filters = self.filters.model_copy(update={"published_to": None})
        return Scope(self.question, filters, self.reading, self.span)

    def finish(self, answer: Answer, held: bool, later: Scope | None = None,
               searched_later: bool = False, words: bool = True) -> Answer:
        """The answer with the filters searched and the time reading. An extractive
        abstention under a range read from the question says that no article in the range
        holds an answer, or that none is stored then (`held` false); an answer from the
        articles published after the range (`later`, the scope it was searched in) opens by
        saying so; `searched_later`: those were searched too, and held none. Without
        `words` (a streamed answer, its text already sent) only the fields are set."""
        update: dict[str, object] = {"filters": self.filters, "time": self.reading}
        if words and self.ranged and answer.mode == "extractive" and (
                answer.abstained or later):
            where = (f"No article published {describe(self.reading)}, as "
                     f"“{self.reading.phrase}” reads,")
            if later is not None:
                update["filters"] = later.filters
                update["time"] = self.reading.model_copy(update={"reported_later": True})
                update["answer"] = (f"{where} holds an answer; from articles published "
                                    f"after it: {answer.answer}")
            else:
                found = ("holds an answer; articles outside that range were not searched."
                         if held else "is stored, so none could answer.")
                if searched_later:
                    found = ("holds an answer, nor does any published after it." if held else
                             "is stored, and none published after it answers.")
                update["answer"] = f"{where} {found} {answer.answer}"
        return answer.model_copy(update=update)


def scope(question: str, filters: Filters | None, anchor: dt.date, anchor_kind: str) -> Scope:
    """The question's scope: a range its time words name joins `filters` as published dates,
    unless `filters` set a date already (the request's dates win); the range's words are
    taken out of the searched text, the filter now holding them."""
    span = read_time(question, anchor)
    if span is None:
        return Scope(question, filters, None, None)
    explicit = filters is not None and bool(filters.published_from or filters.published_to)
    reading = TimeReading(phrase=span.phrase, published_from=span.start,
                          published_to=span.end, newest_first=span.newest_first,
                          anchor=anchor, anchor_kind=anchor_kind,
                          applied=not (explicit and span.is_range))
    if explicit or not span.is_range:
        return Scope(span.without_phrase(question) if not span.is_range else question,
                     filters, reading, span)
    dates = {"published_from": span.start, "published_to": span.end}
    scoped = (filters.model_copy(update=dates) if filters is not None
              else Filters(**dates))
    return Scope(span.without_phrase(question), scoped, reading, span)


def newest_first(hits: list[Hit], weight: float) -> list[Hit]:
    """Hits re-scored with a bonus for recency: `weight` times the passage's date placed
    between the oldest (0) and the newest (1) of the hits; undated passages get none. Both
    scores move, so the answerers see the order too."""
    days = [h.chunk.published.toordinal() for h in hits if h.chunk.published]
    if len(set(days)) < 2:
        return hits
    first, last = min(days), max(days)

    def bonus(hit: Hit) -> float:
        published = hit.chunk.published
        return weight * (published.toordinal() - first) / (last - first) if published else 0.0

    rescored = [h.model_copy(update={"score": h.score + bonus(h), "fused": h.fused + bonus(h)})
                for h in hits]
    ranked = sorted(rescored, key=lambda h: -h.score)
    return [h.model_copy(update={"rank": rank}) for rank, h in enumerate(ranked, start=1)]


def describe(reading: TimeReading) -> str:
    """A range in words: "between 2024-01-01 and 2024-12-31", "from 2025-01-01", "up to
    2024-12-31"."""
    start, end = reading.published_from, reading.published_to
    if start and end:
        return f"on {start}" if start == end else f"between {start} and {end}"
    return f"from {start}" if start else f"up to {end}"
