"""Reading a question's time words (`rag.timespan`, dateparser underneath): ranges by the
calendar, windows back from the anchor, the newest first, and the words that are not time."""

from __future__ import annotations

import datetime as dt

import pytest

from rag.timespan import read_time

ANCHOR = dt.date(2025, 11, 12)  # a Wednesday
D = dt.date


@pytest.mark.parametrize(("question", "phrase", "start", "end"), [
    ("What did Asif say about Afghanistan in 2024?", "in 2024", D(2024, 1, 1), D(2024, 12, 31)),
    ("What happened in the year 2024?", "in the year 2024", D(2024, 1, 1), D(2024, 12, 31)),
    ("What happened in March?", "in March", D(2025, 3, 1), D(2025, 3, 31)),
    # A month after the anchor's is last year's.
    ("What happened in December?", "in December", D(2024, 12, 1), D(2024, 12, 31)),
    ("What did Varnholt say in September 2025 about the talks?", "in September 2025",
     D(2025, 9, 1), D(2025, 9, 30)),
    ("What was said during Sept. 2025?", "during Sept. 2025", D(2025, 9, 1), D(2025, 9, 30)),
    ("What was said in Q2 2025?", "in Q2 2025", D(2025, 4, 1), D(2025, 6, 30)),
    ("What happened in early 2025?", "in early 2025", D(2025, 1, 1), D(2025, 4, 30)),
    ("In late 2024, what did Asif say?", "In late 2024", D(2024, 9, 1), D(2024, 12, 31)),
    ("What happened last week?", "last week", D(2025, 11, 3), D(2025, 11, 9)),
    ("What happened this week?", "this week", D(2025, 11, 10), D(2025, 11, 16)),
    ("What happened last month?", "last month", D(2025, 10, 1), D(2025, 10, 31)),
    ("What did the council do this year?", "this year", D(2025, 1, 1), D(2025, 12, 31)),
    ("What happened last year?", "last year", D(2024, 1, 1), D(2024, 12, 31)),
    ("What happened yesterday?", "yesterday", D(2025, 11, 11), D(2025, 11, 11)),
    ("What happened two weeks ago?", "two weeks ago", D(2025, 10, 27), D(2025, 11, 2)),
    ("What happened in the past two weeks?", "in the past two weeks", D(2025, 10, 29), ANCHOR),
    ("What happened in the last 30 days?", "in the last 30 days", D(2025, 10, 13), ANCHOR),
    ("What was said over the past month?", "over the past month", D(2025, 10, 12), ANCHOR),
    ("What has changed since January?", "since January", D(2025, 1, 1), None),
    ("What was reported after June 2025?", "after June 2025", D(2025, 7, 1), None),
    ("What was reported before 2025?", "before 2025", None, D(2024, 12, 31)),
    ("What did the Ledger report until September 2025?", "until September 2025", None,
     D(2025, 9, 30)),
    ("What happened between March and May 2025?", "between March and May 2025",
     D(2025, 3, 1), D(2025, 5, 31)),
    ("What happened from June to August 2025?", "from June to August 2025", D(2025, 6, 1),
     D(2025, 8, 31)),
    ("What happened in 2024, and why?", "in 2024", D(2024, 1, 1), D(2024, 12, 31)),
    ("Did Jon March speak in May?", "in May", D(2025, 5, 1), D(2025, 5, 31)),
])
def test_time_words_read_as_a_range(question: str, phrase: str, start: dt.date | None,
                                    end: dt.date | None) -> None:
    span = read_time(question, ANCHOR)
    assert span is not None
    assert (span.phrase, span.start, span.end) == (phrase, start, end)
    assert question[span.begin:span.finish] == phrase
    assert not span.newest_first


@pytest.mark.parametrize(("question", "phrase"), [
    ("What is the latest on the port strike?", "latest"),
    ("What did the minister say most recently?", "most recently"),
    ("What is happening now?", "now"),
    ("Who is currently in charge of the plant?", "currently"),
])
def test_recency_words_order_newest_first(question: str, phrase: str) -> None:
    span = read_time(question, ANCHOR)
    assert span is not None and span.newest_first and not span.is_range
    assert span.phrase == phrase


@pytest.mark.parametrize("question", [
    "Who won the 2024 Summer Olympics?",  # a year naming an event
    "What did the court decide in the 2024 elections case?",
    "How many seats will parliament have after the 2026 general election?",
    "Did protesters march in the capital?",  # "march", the verb
    "Did the dockworkers March on the harbour offices?",
    "May I ask what the bank did?",  # "May", the modal
    "What did Theresa May say about Brexit?",  # "May", a name
    "What did Jon March say?",
    "What happened in may?",
    "What was the now-defunct bank?",
    "What did Business Today say about Reliance?",  # an outlet's name
    "What is Monster Hunter Now's first event?",
    "What happened on March 3, 2025?",  # a day names a report: boosted, not a range
    "What happened before the election?",  # an event the corpus does not date
    "What is the inflation forecast for 2026?",
    "What growth does the bank expect in 2026?",  # after the anchor: what is asked about
    # A time dating a fact within the question, not the question.
    "Which company spent $26.3 billion in 2021 to stay the default search engine?",
    "Which organization, founded in late 2015, launched ChatGPT?",
    # Several reports compared, each dated.
    "Between the report on October 7, 2023 and the article on October 30, 2023, what changed?",
    "What did the reports in 2024 and the articles in 2025 say?",
    "Did the portrayal in reports by The Age before October 22, 2023, match The Verge's "
    "coverage?",
    "Which company, recently discussed by TechCrunch, sued Google?",
])
def test_words_that_are_not_the_questions_time_are_not_read(question: str) -> None:
    assert read_time(question, ANCHOR) is None


def test_the_anchor_moves_relative_words() -> None:
    span = read_time("What happened last week?", dt.date(2023, 12, 25))
    assert (span.start, span.end) == (D(2023, 12, 18), D(2023, 12, 24))
    span = read_time("What happened in March?", dt.date(2024, 2, 1))
    assert (span.start, span.end) == (D(2023, 3, 1), D(2023, 3, 31))


@pytest.mark.parametrize(("question", "searched"), [
    ("What did Asif say about Afghanistan in 2024?", "What did Asif say about Afghanistan?"),
    ("What did Varnholt say in September 2025 about the talks?",
     "What did Varnholt say about the talks?"),
    ("In 2024, what did Asif say?", "What did Asif say?"),
    ("What is the latest on the strike?", "What is the latest on the strike?"),
    ("What did Varnholt say most recently?", "What did Varnholt say?"),
])
def test_the_range_words_leave_the_searched_text(question: str, searched: str) -> None:
    assert read_time(question, ANCHOR).without_phrase(question) == searched


def test_a_range_and_a_recency_word_together() -> None:
    span = read_time("What is the latest on the strike in 2025?", ANCHOR)
    assert (span.start, span.end, span.newest_first) == (D(2025, 1, 1), D(2025, 12, 31), True)
