"""Disagreements among cited sources (rag/conflicts.py): differing figures and one speaker on
different dates, from hand-made sentences and citations whose right answers are plain."""

from __future__ import annotations

import datetime as dt

import pytest

from rag.analysis import Analyzer
from rag.conflicts import disagree_on_figures, find_conflicts, quantities
from rag.schemas import Citation


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer()


def citation(number: int, quote: str, article: str, speaker: str | None = None,
             published: dt.date | None = None) -> Citation:
    return Citation(id=number, chunk_id=f"{article}-0", article_id=article, title=None,
                    source=None, published=published, url=None, text=quote, quote=quote,
                    start=0, end=len(quote), quote_start=0, quote_end=len(quote),
                    speaker=speaker, score=1.0)


@pytest.mark.parametrize(("sentence", "expected"), [
    ("About 2,400 dockworkers walked off the job.", [(2400.0, "2,400 dockworkers")]),
    ("The plant will cost 410 million veltars.", [(410e6, "410 million veltars")]),
    ("Inflation rose to 4.5% in May.", [(4.5, "4.5%")]),
    ("Turnout was 61 percent.", [(61.0, "61 percent")]),
    ("Three people were hurt.", [(3.0, "Three people")]),
    # Years, days of a month and bare numbers count nothing.
    ("In 2018 the talks began on 3 March, and on March 4 they ended.", []),
    ("The score was 3.", []),
])
def test_quantities_are_numbers_with_what_they_count(
        analyzer: Analyzer, sentence: str, expected: list[tuple[float, str]]) -> None:
    assert [(q.value, q.text) for q in quantities(sentence, analyzer)] == expected


def test_different_counts_of_the_same_thing_disagree(analyzer: Analyzer) -> None:
    pair = disagree_on_figures(
        "About 2,400 dockworkers walked off the job at Port Averin on Monday.",
        "Some 3,000 dockworkers walked off the job in Port Averin on Monday, the union said.",
        analyzer)
    assert pair is not None
    assert (pair[0].text, pair[1].text) == ("2,400 dockworkers", "3,000 dockworkers")


@pytest.mark.parametrize(("a", "b"), [
    # The same figure is agreement.
    ("About 2,400 dockworkers walked off the job at Port Averin.",
     "Some 2,400 dockworkers walked off the job at Port Averin."),
    # Different things counted with the same word: killed against arrested.
    ("At least 12 people were killed in the blast in Quetta.",
     "Police said 5 people were arrested after the blast in Quetta."),
    # Different matters altogether.
    ("About 2,400 dockworkers walked off the job at Port Averin.",
     "The council approved 300 dockworkers' housing units near the new rail depot."),
])
def test_agreeing_or_unrelated_figures_do_not(analyzer: Analyzer, a: str, b: str) -> None:
    assert disagree_on_figures(a, b, analyzer) is None


def test_find_conflicts_pairs_articles_not_sentences_of_one(analyzer: Analyzer) -> None:
    citations = [
        citation(1, "About 2,400 dockworkers walked off the job at Port Averin.", "a"),
        citation(2, "Later, 2,600 dockworkers walked off the job at Port Averin.", "a"),
        citation(3, "Some 3,000 dockworkers walked off the job at Port Averin.", "b"),
    ]
    conflicts = find_conflicts(citations, analyzer)
    assert [(c.kind, c.citations) for c in conflicts] == [("figures", [1, 3]),
                                                          ("figures", [2, 3])]
    assert conflicts[0].summary == ("The sources give different figures: 2,400 dockworkers [1] "
                                    "against 3,000 dockworkers [3].")


def test_one_speaker_on_different_dates_is_reported_in_date_order(
        analyzer: Analyzer) -> None:
    citations = [
        citation(1, "We will talk to Kabul.", "new", "Khawaja Muhammad Asif",
                 dt.date(2024, 3, 17)),
        citation(2, "Talks with Kabul are pointless.", "old", "Khawaja Asif",
                 dt.date(2018, 2, 20)),
        citation(3, "Trade must resume.", "other", "Ishaq Dar", dt.date(2024, 3, 18)),
        citation(4, "Borders stay open.", "undated", "Khawaja Asif"),  # no date: not compared
    ]
    conflicts = find_conflicts(citations, analyzer)
    assert len(conflicts) == 1
    assert conflicts[0].kind == "over_time"
    assert conflicts[0].citations == [2, 1]
    assert conflicts[0].summary.endswith("20 February 2018 [2]; 17 March 2024 [1].")


def test_one_date_per_speaker_is_no_conflict(analyzer: Analyzer) -> None:
    day = dt.date(2024, 3, 17)
    citations = [citation(1, "We will talk.", "a", "Khawaja Asif", day),
                 citation(2, "Trade must resume.", "b", "Khawaja Asif", day)]
    assert find_conflicts(citations, analyzer) == []
