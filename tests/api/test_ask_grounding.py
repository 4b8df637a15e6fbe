"""/v1/ask answered by an LLM (the scripted OpenAI-protocol server on 127.0.0.1): the grounding
judge drops same-word fabrications from whole and streamed answers alike, and `grounding`
gives every sentence's verdict, with the markers the kept ones are shown with."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.services import Services
from scripted_llm import ScriptedLLM
from support import sse_events, with_settings

QUESTION = "What did the transport minister say about the Port Averin strike?"
KEPT = "Transport Minister Rafael Achterberg said the government would not intervene directly"
NEGATED = "Achterberg said the government would intervene directly in the dispute"
SWAPPED = ("Union secretary Ilse Brandvold said every day the cranes stand still costs the "
           "country money it cannot spare")


@pytest.fixture
def client(news_services: Services, llm_server: ScriptedLLM) -> Iterator[TestClient]:
    services = with_settings(news_services, llm_base_url=llm_server.url, llm_timeout=5.0,
                             llm_retries=0, llm_fallback=False)
    with TestClient(create_app(services=services)) as client:
        yield client


def script(services: Services) -> str:
    hits = services.engine.retriever.search(QUESTION).hits
    minister = next(n for n, h in enumerate(hits, 1) if "would not intervene" in h.chunk.text)
    cranes = next(n for n, h in enumerate(hits, 1) if "cranes stand still" in h.chunk.text)
    return f"{KEPT} [{minister}]. {NEGATED} [{minister}]. {SWAPPED} [{cranes}]."


def test_fabrications_are_dropped_with_their_reasons_whole_and_streamed(
        client: TestClient, news_services: Services, llm_server: ScriptedLLM) -> None:
    reply = script(news_services)
    llm_server.script(reply, reply)
    whole = client.post("/v1/ask", json={"question": QUESTION, "mode": "llm"})
    assert whole.status_code == 200, whole.text
    answer = whole.json()
    assert answer["answer"] == f"{KEPT}. [1]"
    verdicts = answer["grounding"]["verdicts"]
    assert [(v["text"], v["supported"], v["reason"]) for v in verdicts] == [
        (f"{KEPT}.", True, "supported"), (f"{NEGATED}.", False, "negation"),
        (f"{SWAPPED}.", False, "wrong_speaker")]
    assert verdicts[0]["markers"] == [1] and verdicts[1]["markers"] == []
    assert "Oyelaran" in verdicts[2]["detail"]
    assert verdicts[0]["quote"] == answer["citations"][0]["quote"]
    contexts = [c["chunk_id"] for c in answer["contexts"]]
    assert contexts[verdicts[0]["supported_by"][0] - 1] == answer["citations"][0]["chunk_id"]
    assert (answer["grounding"]["supported"], answer["grounding"]["dropped"]) == (1, 2)

    streamed = client.post("/v1/ask", json={"question": QUESTION, "mode": "llm",
                                            "stream": True})
    events = dict(sse_events(streamed.text))
    assert events["grounding"] == answer["grounding"]
    assert "intervene directly in the dispute" not in streamed.text.split("event: grounding")[0]
