"""Time in questions over real HTTP: "in 2024", "in September 2025", "last week", "latest" read
as a publication-date range or newest first, shown in the response, overruled by the request's
own dates, never read from words that are not time, and an empty range answered as such. The
store holds the fictional examples (dated by construction, the newest 2025-11-12) and the
shared news corpus (one article dated: Arab News, 2024-03-17)."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from api.app import create_app
from api.services import Services
from rag.question import same_person
from support import ask_ok, needs_shared, served, sse_events, with_settings

NEWEST_EXAMPLE = "2025-11-12"  # 07_paylark_breach_and_desalination.jsonl, its second record
SEED = "What did Asif say about Afghanistan in 2024?"




def published(answer: dict) -> set[str | None]:
    return {c["published"] for c in answer["citations"]}


@needs_shared
def test_the_seed_question_is_answered_from_asifs_2024_statements_only(
        live_client: httpx.Client) -> None:
    answer = ask_ok(live_client, SEED)
    assert not answer["abstained"], answer["answer"]
    assert answer["time"]["phrase"] == "in 2024"
    assert (answer["time"]["published_from"], answer["time"]["published_to"]) == (
        "2024-01-01", "2024-12-31")
    assert answer["filters"]["published_from"] == "2024-01-01"
    assert answer["filters"]["published_to"] == "2024-12-31"
    # Asif's statements of 2024 are those of the one article published then (Arab News,
    # 2024-03-17); his undated interviews and the sentence about attacks in October 2024
    # are not his 2024 statements.
    assert published(answer) == {"2024-03-17"}
    assert {c["source"] for c in answer["citations"]} == {"Arab News"}
    assert all(same_person("Asif", c["speaker"] or "") for c in answer["citations"])
    quotes = " ".join(c["quote"] for c in answer["citations"])
    assert "Terrorism is being conducted mostly from Afghanistan against us" in quotes
    assert "October 2024" not in quotes and "Boota Pathri" not in quotes
    # Without the year, his statements of every article are quoted: the range did the work.
    unscoped = ask_ok(live_client, "What did Asif say about Afghanistan?")
    assert unscoped["time"] is None and unscoped["filters"] is None
    assert len(published(unscoped)) > 1


def test_a_month_is_searched_as_its_range_and_shown(live_client: httpx.Client) -> None:
    answer = ask_ok(live_client, "What did Varnholt say about the Kessa Pass in September 2025?")
    assert not answer["abstained"], answer["answer"]
    time = answer["time"]
    assert time == {"phrase": "in September 2025", "published_from": "2025-09-01",
                    "published_to": "2025-09-30", "newest_first": False,
                    "anchor": NEWEST_EXAMPLE, "anchor_kind": "corpus", "applied": True,
                    "reported_later": False}
    assert answer["filters"]["published_from"] == "2025-09-01"
    assert all("2025-09-01" <= day <= "2025-09-30" for day in published(answer))
    assert answer["standalone_question"].endswith("in September 2025?")


def test_relative_words_count_from_the_newest_article(live_client: httpx.Client) -> None:
    # The newest example is of Wednesday 2025-11-12: "last month" is October 2025, when the
    # PayLark breach was reported (2025-10-07).
    answer = ask_ok(live_client, "How many PayLark users had their data stolen last month?")
    assert (answer["time"]["published_from"], answer["time"]["published_to"]) == (
        "2025-10-01", "2025-10-31")
    assert not answer["abstained"], answer["answer"]
    assert published(answer) == {"2025-10-07"}
    assert "1.2 million" in answer["answer"]


def test_the_requests_dates_win_over_the_questions_words(live_client: httpx.Client) -> None:
    dates = {"published_from": "2025-09-16", "published_to": "2025-09-16"}
    answer = ask_ok(live_client, "What did Varnholt say about the Kessa Pass in September 2025?",
                 filters=dates)
    assert not answer["abstained"], answer["answer"]
    assert answer["time"]["phrase"] == "in September 2025"
    assert answer["time"]["applied"] is False
    assert answer["filters"]["published_from"] == answer["filters"]["published_to"] == (
        "2025-09-16")
    assert published(answer) == {"2025-09-16"}  # The Averin Ledger's interview only


def test_a_range_joins_the_requests_other_filters(live_client: httpx.Client) -> None:
    answer = ask_ok(live_client, "Why did the Bank of Veltara raise its rate in May 2025?",
                 filters={"source": "The Averin Ledger"})
    assert not answer["abstained"], answer["answer"]
    assert answer["filters"] == {"source": ["The Averin Ledger"], "published_from": "2025-05-01",
                                 "published_to": "2025-05-31", "article_ids": None}
    assert {c["source"] for c in answer["citations"]} == {"The Averin Ledger"}
    assert published(answer) == {"2025-05-14"}


@pytest.mark.parametrize("question", [
    "Did the dockworkers march to the port offices?",
    "May the union call another strike at Port Averin?",
    "What did the 2025 Veltara election law change?",
    "How many seats does the new election law cut, and when was it passed?",
])
def test_words_that_are_not_time_are_not_read(live_client: httpx.Client, question: str) -> None:
    answer = ask_ok(live_client, question)
    assert answer["time"] is None, answer["time"]
    assert answer["filters"] is None


def test_a_range_no_article_answers_is_said_so_not_widened(live_client: httpx.Client) -> None:
    # July 2025 holds one article (the Kessa Valley drought, 2025-07-08), none quoting Varnholt.
    answer = ask_ok(live_client, "What did Varnholt say about the Kessa Pass in July 2025?")
    assert answer["abstained"]
    assert answer["citations"] == []
    assert answer["answer"].startswith(
        "No article published between 2025-07-01 and 2025-07-31, as “in July 2025” reads, "
        "holds an answer")
    assert answer["filters"]["published_to"] == "2025-07-31"


def test_a_range_holding_no_article_at_all_is_said_so(live_client: httpx.Client) -> None:
    # The week before the newest article's (Monday 2025-11-03 to Sunday 2025-11-09) is empty.
    answer = ask_ok(live_client, "Why did the Bank of Veltara raise its policy rate last week?")
    assert answer["abstained"]
    assert answer["time"]["phrase"] == "last week"
    assert answer["answer"].startswith(
        "No article published between 2025-11-03 and 2025-11-09, as “last week” reads, is "
        "stored, and none published after it answers.")
    assert answer["contexts"] == []


def test_the_latest_orders_by_date_and_shows_it(live_client: httpx.Client) -> None:
    question = "What is the latest on Port Averin?"
    answer = ask_ok(live_client, question)
    assert answer["time"]["newest_first"] is True and answer["time"]["phrase"] == "latest"
    assert answer["filters"] is None  # an order, not a range
    days = [c["published"] for c in answer["contexts"] if c["published"]]
    plain = [c["published"] for c in ask_ok(live_client, "What is on Port Averin?")["contexts"]
             if c["published"]]
    # The newest passages rise: the first ones are newer on average than without the word.
    def mean_day(values: list[str]) -> float:
        return sum(dt.date.fromisoformat(v).toordinal() for v in values) / len(values)
    assert mean_day(days[:3]) > mean_day(plain[:3])


def test_a_streamed_answer_ends_with_the_range_searched(live_client: httpx.Client) -> None:
    response = live_client.post("/v1/ask", json={
        "question": "What did Varnholt say in September 2025?", "stream": True})
    assert response.status_code == 200
    done = dict(sse_events(response.text))["done"]
    assert done["time"]["phrase"] == "in September 2025"
    assert done["filters"]["published_to"] == "2025-09-30"


def test_the_schema_names_the_range_searched(live_client: httpx.Client) -> None:
    schema = live_client.get("/openapi.json").json()["components"]["schemas"]
    answer = schema["Answer"]["properties"]
    assert {"filters", "time"} <= set(answer)
    assert "published_from" in schema["TimeReading"]["properties"]
    assert json.dumps(answer["time"]).count("TimeReading") == 1


def test_relative_words_can_count_from_today(news_services: Services) -> None:
    today = dt.datetime.now(dt.UTC).date()
    monday = today - dt.timedelta(days=today.weekday())
    with served(create_app(services=with_settings(news_services, time_anchor="today"))) as url:
        answer = httpx.post(f"{url}/v1/ask", timeout=60,
                            json={"question": "What did Varnholt say last week?"}).json()
    assert answer["time"]["anchor"] == today.isoformat()
    assert answer["time"]["anchor_kind"] == "today"
    assert answer["time"]["published_from"] == (monday - dt.timedelta(days=7)).isoformat()
    assert answer["time"]["published_to"] == (monday - dt.timedelta(days=1)).isoformat()
    assert answer["abstained"] and answer["citations"] == []  # the examples end in 2025


@needs_shared
def test_an_event_of_the_range_reported_later_is_answered_and_said_so(
        live_client: httpx.Client) -> None:
    # The deportation campaign of November 2023 is reported by an article of 2024-03-17.
    answer = ask_ok(live_client, "What campaign did Islamabad start against illegal immigrants in "
                       "November 2023?")
    assert not answer["abstained"], answer["answer"]
    assert answer["answer"].startswith(
        "No article published between 2023-11-01 and 2023-11-30, as “in November 2023” reads, "
        "holds an answer; from articles published after it: ")
    assert answer["time"]["reported_later"] is True
    assert (answer["filters"]["published_from"], answer["filters"]["published_to"]) == (
        "2023-11-01", None)
    assert "deportation campaign" in " ".join(c["quote"] for c in answer["citations"])
    assert published(answer) == {"2024-03-17"}


def test_a_speech_question_asking_the_latest_quotes_the_newest_article_first(
        live_client: httpx.Client) -> None:
    answer = ask_ok(live_client, "What did Varnholt say most recently?")
    assert not answer["abstained"], answer["answer"]
    assert answer["time"]["newest_first"] is True and answer["filters"] is None
    days = [c["published"] for c in answer["citations"]]
    assert days[0] == "2025-09-16" and "2025-09-15" in days
    assert days.index("2025-09-15") > days.index("2025-09-16")
    # Asked plainly, the articles come oldest first.
    plain = ask_ok(live_client, "What did Varnholt say?")
    assert plain["citations"][0]["published"] == "2025-09-15"
