"""POST /v1/ask end to end: cited answers whose spans point into the stored articles, filters,
and the server-sent-event stream. Real encoder, real Chroma, over the shared news store."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from support import sse_events

QA_FILE = Path(__file__).resolve().parents[2] / "examples" / "qa.jsonl"
MARKER = re.compile(r"\[(\d+)\]")
STRIKE = "How many dockworkers walked off the job in the Port Averin strike?"
RATE = "What did the Bank of Veltara set its policy rate to in May 2025?"


def load_questions() -> list[dict]:
    rows = [json.loads(line) for line in QA_FILE.read_text().splitlines() if line.strip()]
    return [row for row in rows if row["answerable"]]


ANSWERABLE = load_questions()


def ask(client: TestClient, question: str, **options: object) -> dict:
    response = client.post("/v1/ask", json={"question": question, **options})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def article_text(client: TestClient, article_id: str) -> str:
    response = client.get(f"/v1/documents/{article_id}")
    assert response.status_code == 200, response.text
    return response.json()["text"]


def assert_well_cited(client: TestClient, answer: dict) -> None:
    """Every marker resolves to a citation whose text and quote are exact article spans."""
    assert not answer["abstained"], answer["answer"]
    citations = {c["id"]: c for c in answer["citations"]}
    assert citations, "an answer that does not abstain cites something"
    markers = {int(n) for n in MARKER.findall(answer["answer"])}
    assert markers, answer["answer"]
    assert markers <= set(citations), (markers, sorted(citations))
    for citation in citations.values():
        assert citation["quote"], citation
        assert citation["quote"] in citation["text"]
        text = article_text(client, citation["article_id"])
        assert text[citation["start"] : citation["end"]] == citation["text"]
        assert text[citation["quote_start"] : citation["quote_end"]] == citation["quote"]
        assert citation["start"] <= citation["quote_start"] < citation["quote_end"] \
            <= citation["end"]
        assert citation["chunk_id"].startswith(citation["article_id"] + ":")


def assert_ranked_contexts(answer: dict) -> None:
    contexts = answer["contexts"]
    assert contexts
    assert [c["rank"] for c in contexts] == list(range(1, len(contexts) + 1))
    scores = [c["score"] for c in contexts]
    assert scores == sorted(scores, reverse=True)


def sources_of(answer: dict) -> set[str | None]:
    return {c["source"] for c in answer["contexts"]} | {c["source"] for c in answer["citations"]}


def dates_of(answer: dict) -> list[str | None]:
    return [c["published"] for c in answer["contexts"] + answer["citations"]]


def test_answer_is_cited_from_the_articles(news_client: TestClient) -> None:
    answer = ask(news_client, STRIKE)
    assert_well_cited(news_client, answer)
    assert_ranked_contexts(answer)
    assert "2,400" in answer["answer"]
    assert answer["mode"] == "extractive"
    assert answer["grounding"]["sentences"] >= 1
    assert 0.0 <= answer["grounding"]["score"] <= 1.0


@pytest.mark.parametrize("row", ANSWERABLE, ids=[row["id"] for row in ANSWERABLE])
def test_sample_questions_cite_their_evidence(news_client: TestClient, row: dict) -> None:
    answer = ask(news_client, row["question"])
    assert_well_cited(news_client, answer)
    assert_ranked_contexts(answer)
    cited = " ".join(c["text"] for c in answer["citations"])
    assert any(phrase in cited for phrase in row["evidence"]), (row["evidence"], cited)


def test_source_filter(news_client: TestClient) -> None:
    answer = ask(news_client, RATE, filters={"source": "The Averin Ledger"})
    assert answer["contexts"]
    assert sources_of(answer) == {"The Averin Ledger"}
    if not answer["abstained"]:
        assert_well_cited(news_client, answer)


def test_source_filter_excludes_other_outlets(news_client: TestClient) -> None:
    unfiltered = ask(news_client, RATE)
    assert "Northwind Wire" in sources_of(unfiltered)
    filtered = ask(news_client, RATE, filters={"source": ["The Averin Ledger"]})
    assert "Northwind Wire" not in sources_of(filtered)


def test_date_filter(news_client: TestClient) -> None:
    window = {"published_from": "2025-05-01", "published_to": "2025-06-30"}
    answer = ask(news_client, "What happened in Veltara?", filters=window)
    assert answer["contexts"]
    for published in dates_of(answer):
        assert published is not None
        assert dt.date(2025, 5, 1) <= dt.date.fromisoformat(published) <= dt.date(2025, 6, 30)


def test_date_filter_excludes_the_matching_story(news_client: TestClient) -> None:
    # The strike story is dated 2025-03-03: a window after it must not retrieve it.
    answer = ask(news_client, STRIKE, filters={"published_from": "2025-04-01"})
    for published in dates_of(answer):
        assert published is not None and published >= "2025-04-01"
    assert all("2,400 dockworkers" not in c["text"] for c in answer["contexts"])


def test_article_id_filter(news_client: TestClient) -> None:
    unfiltered = ask(news_client, RATE)
    wanted = sorted({c["article_id"] for c in unfiltered["contexts"]})[:2]
    answer = ask(news_client, RATE, filters={"article_ids": wanted})
    assert answer["contexts"]
    ids = {c["article_id"] for c in answer["contexts"]} | \
        {c["article_id"] for c in answer["citations"]}
    assert ids <= set(wanted)


def test_article_id_filter_can_exclude_everything(news_client: TestClient) -> None:
    answer = ask(news_client, STRIKE, filters={"article_ids": ["doesnotexist"]})
    assert answer["contexts"] == []
    assert answer["citations"] == []
    assert answer["abstained"]


@pytest.mark.parametrize("top_k", [1, 3])
def test_top_k_limits_contexts(news_client: TestClient, top_k: int) -> None:
    answer = ask(news_client, RATE, top_k=top_k)
    assert 1 <= len(answer["contexts"]) <= top_k
    assert_ranked_contexts(answer)


def test_stream_sends_the_same_answer_as_events(news_client: TestClient) -> None:
    plain = ask(news_client, STRIKE)
    response = news_client.post("/v1/ask", json={"question": STRIKE, "stream": True})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")

    events = sse_events(response.text)
    names = [name for name, _ in events]
    deltas = names.count("delta")
    assert deltas >= 1
    assert names == ["contexts"] + ["delta"] * deltas + ["citations", "grounding", "done"]

    data = dict(events)
    streamed_text = "".join(payload["text"] for name, payload in events if name == "delta")
    assert streamed_text == plain["answer"]
    assert data["citations"] == plain["citations"]
    assert [c["chunk_id"] for c in data["contexts"]] == \
        [c["chunk_id"] for c in plain["contexts"]]
    assert data["grounding"] == plain["grounding"]
    assert data["done"]["abstained"] is False
    assert data["done"]["mode"] == "extractive"


def test_stream_of_an_abstention(news_client: TestClient) -> None:
    body = {"question": STRIKE, "stream": True, "filters": {"article_ids": ["doesnotexist"]}}
    response = news_client.post("/v1/ask", json=body)
    assert response.status_code == 200, response.text
    events = sse_events(response.text)
    names = [name for name, _ in events]
    assert names[0] == "contexts" and names[-3:] == ["citations", "grounding", "done"]
    assert dict(events)["done"]["abstained"] is True
