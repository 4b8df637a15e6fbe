"""Where the cited sources disagree: different figures for the same thing, or one person quoted
on different dates.

`find_conflicts(citations, analyzer)` returns the disagreements among an answer's citations,
built from their verbatim quotes and metadata only. What counts as the same figure:
docs/answering.md, "Where sources disagree".
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass

from rag.analysis import Analyzer
from rag.question import same_person
from rag.schemas import Citation, Conflict

# A number as news writes it: "2,400", "3.5", "$410", "17%", or a small number word.
_NUMBER_WORDS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "dozen": 12, "twenty": 20, "hundred": 100,
}
_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_TOKEN = re.compile(r"[$£€]?\d[\d,]*(?:\.\d+)?%?|[A-Za-z]+(?:['’][a-z]+)?")
_DIGITS = re.compile(r"[$£€]?(\d[\d,]*(?:\.\d+)?)(%?)$")
_MAY_COUNT = re.compile(r"\d|\b(?:" + "|".join(_NUMBER_WORDS) + r")\b", re.IGNORECASE)
_MONTHS = frozenset({
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
    "sept", "oct", "nov", "dec",
})
# Words that count time rather than things: "on 3 March", "in 2018", "15 years ago".
_NOT_COUNTED = _MONTHS | {"am", "pm", "gmt", "utc"}
# Tokens either side of a number whose terms say what the number is about.
CONTEXT_WINDOW = 4
# Two sentences are about the same matter when this share of the shorter one's content
# terms (numbers aside) appears in the other.
TOPIC_OVERLAP = 0.3


@dataclass(frozen=True)
class Quantity:
    """A number in a sentence and what it counts."""

    value: float
    unit: str  # the stem of the counted word, or "percent"
    text: str  # as written: "2,400 dockworkers"
    context: frozenset[str]  # stems of the words around it


@functools.lru_cache(maxsize=4096)
def quantities(sentence: str, analyzer: Analyzer) -> tuple[Quantity, ...]:
    """The counted quantities a sentence states (years, dates and times left out).

    Cached: an answer compares each chosen sentence with every candidate of other articles,
    so the same sentences are read many times (the cache key holds the analyser only by
    identity; its analysis never changes).
    """
    tokens = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(sentence)]
    found = []
    for i, (token, start, _) in enumerate(tokens):
        value, percent = _value(token)
        if value is None or _is_date(tokens, i, value):
            continue
        following = tokens[i + 1 : i + 3]
        if following and following[0][0].lower() in _SCALES:
            value *= _SCALES[following[0][0].lower()]
            following = following[1:]
        unit, end = ("percent", tokens[i][2]) if percent else (None, None)
        for word, _, word_end in following:
            if unit:
                break
            if word.lower() in ("percent", "per"):
                unit, end = "percent", word_end
            elif word.lower() not in _NOT_COUNTED and (stem := analyzer.terms(word)):
                unit, end = next(iter(stem)), word_end
        if unit is None:
            continue
        window = tokens[max(0, i - CONTEXT_WINDOW) : i + CONTEXT_WINDOW + 1]
        context = frozenset().union(*(analyzer.terms(w) for w, _, _ in window
                                      if _value(w)[0] is None and w.lower() not in _SCALES))
        context -= {unit}
        found.append(Quantity(value, unit, sentence[start:end], context))
    return tuple(found)


def find_conflicts(citations: list[Citation], analyzer: Analyzer) -> list[Conflict]:
    """Disagreements among the citations: differing figures, and speakers over time."""
    return _figures(citations, analyzer) + _over_time(citations)


def disagree_on_figures(a: str, b: str, analyzer: Analyzer) -> tuple[Quantity, Quantity] | None:
    """The first pair of quantities on which two sentences about one matter disagree."""
    # Cheapest test first: most sentence pairs hold no number on one side (a regex), then no
    # shared counted thing (cached quantities); only then are the two sentences compared.
    if not (states_a_number(a) and states_a_number(b)):
        return None
    pairs = (pair for pair in itertools.product(quantities(a, analyzer), quantities(b, analyzer))
             if pair[0].unit == pair[1].unit and pair[0].value != pair[1].value
             and pair[0].context & pair[1].context)
    first = next(pairs, None)
    return first if first and _same_matter(a, b, analyzer) else None


@functools.lru_cache(maxsize=20_000)
def states_a_number(text: str) -> bool:
    """Whether a text holds a digit or a number word: a sentence without one cannot dispute a
    figure (a regex, far cheaper than reading its quantities). Cached: an answer tests every
    sentence of its passages, ~70 a question and mostly the same ones, and the regex (an
    alternation of number words) was a third of the answer's time."""
    return _MAY_COUNT.search(text) is not None


def conflict_note(conflicts: list[Conflict]) -> str:
    """The sentences an extractive answer ends with, one a conflict."""
    return " ".join(c.summary for c in conflicts)


def _figures(citations: list[Citation], analyzer: Analyzer) -> list[Conflict]:
    conflicts = []
    for a, b in itertools.combinations(citations, 2):
        if a.article_id == b.article_id:
            continue
        pair = disagree_on_figures(a.quote, b.quote, analyzer)
        if pair:
            qa, qb = pair
            conflicts.append(Conflict(
                kind="figures", citations=[a.id, b.id],
                summary=f"The sources give different figures: {qa.text} [{a.id}] against "
                        f"{qb.text} [{b.id}]."))
    return conflicts


def _over_time(citations: list[Citation]) -> list[Conflict]:
    conflicts: list[Conflict] = []
    dated = sorted((c for c in citations if c.speaker and c.published),
                   key=lambda c: (c.published, c.id))
    grouped: list[list[Citation]] = []
    for citation in dated:
        group = next((g for g in grouped if same_person(g[0].speaker, citation.speaker)
                      or same_person(citation.speaker, g[0].speaker)), None)
        if group is None:
            grouped.append([citation])
        else:
            group.append(citation)
    for group in grouped:
        dates = sorted({c.published for c in group})
        if len(dates) < 2:
            continue
        ordered = "; ".join(
            f"{date.strftime('%-d %B %Y')} "
            + "".join(f"[{c.id}]" for c in group if c.published == date)
            for date in dates)
        conflicts.append(Conflict(
            kind="over_time", citations=[c.id for c in group],
            summary=f"These statements by {group[0].speaker} were reported on different "
                    f"dates, and positions may have changed between them: {ordered}."))
    return conflicts


def _same_matter(a: str, b: str, analyzer: Analyzer) -> bool:
    terms_a = {t for t in analyzer.terms(a) if not t[0].isdigit()}
    terms_b = {t for t in analyzer.terms(b) if not t[0].isdigit()}
    if not terms_a or not terms_b:
        return False
    return len(terms_a & terms_b) / min(len(terms_a), len(terms_b)) >= TOPIC_OVERLAP


def _value(token: str) -> tuple[float | None, bool]:
    """A token's number and whether it is a percentage; (None, False) for a word."""
    match = _DIGITS.match(token)
    if match:
        return float(match.group(1).replace(",", "")), bool(match.group(2))
    return float(_NUMBER_WORDS[token.lower()]) if token.lower() in _NUMBER_WORDS else None, False


def _is_date(tokens: list[tuple[str, int, int]], i: int, value: float) -> bool:
    """A year ("in 2018") or a day of a month ("March 3", "3 March")."""
    token = tokens[i][0]
    if token.isdigit() and 1900 <= value <= 2100 and "," not in token:
        return True
    neighbours = [tokens[j][0].lower() for j in (i - 1, i + 1) if 0 <= j < len(tokens)]
    return value <= 31 and any(n in _MONTHS for n in neighbours)
