"""When the sources disagree, the answer says so with both citations: two outlets giving
different figures for one event, and one minister quoted on different dates; extractively
(the answer ends with the note) and through an LLM (verification keeps both sides, and
`conflicts` lists them). Real store, real encoder, real HTTP through FastAPI's client."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.services import Services
from index.load import Document
from rag.embeddings import Encoder
from scripted_llm import ScriptedLLM
from support import make_services, sse_events, with_settings

WALKOUT = "How many dockworkers walked off the job at Port Averin?"
FUEL = "What did Adaeze Morrow say about fuel taxes?"


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> Services:
    """Two outlets' reports of one strike with different head counts, and a finance minister
    on fuel taxes in two years, beside an unrelated story."""
    services = make_services(Path(tmp_path_factory.mktemp("disagreement")), encoder)
    services.ingestor.ingest_documents([
        Document(kind="record", path="wire.json", title="Dockworkers strike at Port Averin",
                 source="Northwind Wire", published=dt.date(2025, 3, 3),
                 text="About 2,400 dockworkers walked off the job at Port Averin on Monday, "
                      "halting container traffic. The union wants shorter shifts."),
        Document(kind="record", path="times.json", title="Port Averin walkout",
                 source="Harbour Times", published=dt.date(2025, 3, 3),
                 text="Some 3,000 dockworkers walked off the job at Port Averin on Monday, "
                      "the union said. Ships queued outside the harbour."),
        Document(kind="record", path="fuel-2023.json", title="No fuel tax rise, Morrow says",
                 source="Capital Ledger", published=dt.date(2023, 1, 10),
                 text="Finance Minister Adaeze Morrow said fuel taxes would not rise this "
                      "year. Drivers' groups welcomed the decision."),
        Document(kind="record", path="fuel-2024.json", title="Morrow plans fuel tax rise",
                 source="Capital Ledger", published=dt.date(2024, 6, 2),
                 text="Finance Minister Adaeze Morrow said fuel taxes would rise by 5 percent "
                      "next year to pay for road repairs."),
        Document(kind="record", path="rail.json", title="Rail line opens",
                 source="Northwind Wire", published=dt.date(2025, 4, 1),
                 text="The new Brannock rail line opened on Tuesday with twelve daily trains."),
    ])
    return services


@pytest.fixture(scope="module")
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services=services)) as client:
        yield client


def ask(client: TestClient, question: str, **extra: object) -> dict:
    response = client.post("/v1/ask", json={"question": question, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def cited_outlets(answer: dict, numbers: list[int]) -> set[str]:
    by_id = {c["id"]: c for c in answer["citations"]}
    return {by_id[n]["source"] for n in numbers}


def test_different_figures_are_both_cited_and_named(client: TestClient) -> None:
    answer = ask(client, WALKOUT, mode="extractive")
    assert not answer["abstained"]
    [conflict] = answer["conflicts"]
    assert conflict["kind"] == "figures"
    assert cited_outlets(answer, conflict["citations"]) == {"Northwind Wire", "Harbour Times"}
    assert answer["answer"].endswith(conflict["summary"])
    assert "2,400 dockworkers" in conflict["summary"]
    assert "3,000 dockworkers" in conflict["summary"]
    for number in conflict["citations"]:
        assert f"[{number}]" in conflict["summary"]


def test_a_speaker_on_different_dates_is_flagged_in_date_order(client: TestClient) -> None:
    answer = ask(client, FUEL, mode="extractive")
    over_time = [c for c in answer["conflicts"] if c["kind"] == "over_time"]
    assert len(over_time) == 1, answer
    by_id = {c["id"]: c for c in answer["citations"]}
    dates = [by_id[n]["published"] for n in over_time[0]["citations"]]
    assert dates == ["2023-01-10", "2024-06-02"]
    assert "Adaeze Morrow" in over_time[0]["summary"]
    assert re.search(r"10 January 2023 \[\d+\]; 2 June 2024 \[\d+\]\.$", answer["answer"])


def test_an_answer_without_disagreement_has_no_conflicts(client: TestClient) -> None:
    answer = ask(client, "When did the Brannock rail line open?", mode="extractive")
    assert not answer["abstained"] and answer["conflicts"] == []
    assert "different" not in answer["answer"]


def test_an_llm_answer_stating_the_disagreement_keeps_both_citations(
        services: Services, llm_server: ScriptedLLM) -> None:
    hits = services.engine.retriever.search(WALKOUT).hits
    number_of = {h.chunk.title: n for n, h in enumerate(hits, 1)}
    wire, times = number_of["Dockworkers strike at Port Averin"], number_of["Port Averin walkout"]
    llm_server.script(
        f"Northwind Wire reported that about 2,400 dockworkers walked off the job at Port "
        f"Averin [{wire}]. The Harbour Times, citing the union, reported that some 3,000 "
        f"dockworkers walked off the job [{times}].")
    settings = {"llm_base_url": llm_server.url, "llm_retries": 0, "llm_fallback": False}
    with TestClient(create_app(services=with_settings(services, **settings))) as client:
        answer = ask(client, WALKOUT, mode="llm")
    assert answer["mode"] == "llm"
    assert answer["grounding"]["dropped"] == 0 and answer["grounding"]["supported"] == 2, answer
    [conflict] = answer["conflicts"]
    assert conflict["kind"] == "figures"
    assert cited_outlets(answer, conflict["citations"]) == {"Northwind Wire", "Harbour Times"}
    assert "contradict" in llm_server.requests[-1]["messages"][0]["content"]


def test_streams_and_chat_completions_carry_the_conflicts(client: TestClient) -> None:
    streamed = client.post("/v1/ask", json={"question": WALKOUT, "stream": True})
    done = next(data for name, data in sse_events(streamed.text) if name == "done")
    assert [c["kind"] for c in done["conflicts"]] == ["figures"]
    chat = client.post("/v1/chat/completions", json={
        "model": "newsrag", "messages": [{"role": "user", "content": WALKOUT}]})
    assert chat.status_code == 200, chat.text
    body = chat.json()
    assert [c["kind"] for c in body["conflicts"]] == ["figures"]
    assert body["choices"][0]["message"]["content"].endswith(body["conflicts"][0]["summary"])
