"""The OpenAI-compatible routes through the official `openai` client, against the real app served
by uvicorn on 127.0.0.1 (real encoder, real Chroma, the shared news store, no key); bad
requests through FastAPI's client."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import openai
import pytest
from fastapi.testclient import TestClient
from openai import OpenAI

from api.app import create_app
from api.services import Services
from rag.engine import Engine
from rag.tokens import count_tokens
from scripted_llm import Reply, ScriptedLLM
from support import needs_shared, served

MARKER = re.compile(r"\[(\d+)\]")
STRIKE = "How many dockworkers walked off the job in the Port Averin strike?"
AFGHANISTAN = "What did the Pakistani defence minister say about Afghanistan?"
FOLLOW_UP = "And what did he say about India?"
INDIA = "India wants to engage Pakistan on both borders"


@pytest.fixture(scope="module")
def base_url(news_services: Services) -> Iterator[str]:
    """The app served by uvicorn in a thread, on a free loopback port, stopped at teardown."""
    with served(create_app(services=news_services)) as url:
        yield f"{url}/v1"


@pytest.fixture(scope="module")
def client(base_url: str) -> OpenAI:
    return OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=60)


def citations_of(completion: object) -> list[dict]:
    return completion.model_extra["citations"]


def assert_cited(content: str, citations: list[dict]) -> None:
    """Every marker resolves; every cited quote is verbatim inside its passage."""
    markers = {int(n) for n in MARKER.findall(content)}
    assert markers, content
    assert markers == {c["id"] for c in citations}
    for citation in citations:
        assert citation["quote"] in citation["text"]
        assert f"{citation['quote']} [{citation['id']}]" in content


# ---- the official client -----------------------------------------------------------------

def test_the_models_list_holds_the_service(client: OpenAI) -> None:
    models = client.models.list()
    assert [m.id for m in models.data] == ["newsrag"]
    card = client.models.retrieve("newsrag")
    assert (card.id, card.object, card.owned_by) == ("newsrag", "model", "newsrag")
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")


def test_a_completion_is_a_cited_answer(client: OpenAI, news_services: Services) -> None:
    completion = client.chat.completions.create(
        model="newsrag", messages=[{"role": "user", "content": STRIKE}], temperature=0.2)
    assert completion.id.startswith("chatcmpl-")
    assert completion.object == "chat.completion" and completion.model == "newsrag"
    assert completion.created > 0
    (choice,) = completion.choices
    assert (choice.index, choice.finish_reason, choice.message.role) == (0, "stop", "assistant")
    content = choice.message.content
    assert "2,400" in content
    assert_cited(content, citations_of(completion))
    assert content == news_services.engine.ask(STRIKE).answer
    usage = completion.usage
    assert usage.prompt_tokens == count_tokens(STRIKE)
    assert usage.completion_tokens == count_tokens(content)
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_a_streamed_completion_is_the_same_answer(client: OpenAI) -> None:
    messages = [{"role": "user", "content": STRIKE}]
    plain = client.chat.completions.create(model="newsrag", messages=messages)
    chunks = list(client.chat.completions.create(model="newsrag", messages=messages,
                                                 stream=True))
    assert len(chunks) >= 3
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-")
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == plain.choices[0].message.content
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])
    assert last.model_extra["citations"] == citations_of(plain)


def test_a_stream_can_end_with_its_usage(client: OpenAI) -> None:
    chunks = list(client.chat.completions.create(
        model="newsrag", messages=[{"role": "user", "content": STRIKE}], stream=True,
        stream_options={"include_usage": True}))
    assert chunks[-1].choices == []
    assert chunks[-1].usage.total_tokens == chunks[-1].usage.prompt_tokens + \
        chunks[-1].usage.completion_tokens > 0


def test_the_stream_is_server_sent_events_ending_with_done(base_url: str) -> None:
    body = {"model": "newsrag", "messages": [{"role": "user", "content": STRIKE}],
            "stream": True}
    with httpx.Client(timeout=60) as http:
        response = http.post(f"{base_url}/chat/completions", json=body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    data = [line.removeprefix("data: ") for line in response.text.split("\n")
            if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    assert all(json.loads(d)["object"] == "chat.completion.chunk" for d in data[:-1])
    assert "\r" not in response.text


# ---- Open WebUI's sources (docs/integrations.md, "Open WebUI") -----------------------------

def assert_open_webui_sources(sources: list[dict], citations: list[dict]) -> None:
    """One source a citation, in marker order, labelled 'Outlet — Title', its passage as the
    document, keyed by a string unique to the citation (Open WebUI groups chips by that key)."""
    assert len(sources) == len(citations) > 0
    for source, citation in zip(sources, citations, strict=True):
        name = f"{citation['source']} — {citation['title']}"
        assert source["source"] == {"id": citation["chunk_id"], "name": name,
                                    "url": citation["url"]}
        assert source["document"] == [citation["text"]]
        (metadata,) = source["metadata"]
        assert metadata["name"] == name and metadata["citation"] == citation["id"]
        assert (metadata["outlet"], metadata["title"]) == (citation["source"], citation["title"])
        assert metadata["quote"] == citation["quote"] and metadata["quote"] in source["document"][0]
        assert metadata["published"] == citation["published"]
    keys = [s["metadata"][0]["source"] for s in sources]
    assert len(set(keys)) == len(keys)
    assert not any(k.startswith(("http://", "https://")) for k in keys)


def test_a_completion_carries_its_citations_as_open_webui_sources(client: OpenAI) -> None:
    completion = client.chat.completions.create(
        model="newsrag", messages=[{"role": "user", "content": STRIKE}])
    citations = citations_of(completion)
    assert [c["id"] for c in citations] == list(range(1, len(citations) + 1))
    sources = completion.model_extra["sources"]
    assert_open_webui_sources(sources, citations)
    assert sources[0]["source"]["name"] == \
        "Northwind Wire — Dockworkers walk out at Port Averin as wage talks collapse"
    assert "2,400 dockworkers" in sources[0]["document"][0]


def test_a_stream_sends_each_source_as_an_open_webui_event_before_its_stop(
        base_url: str, client: OpenAI) -> None:
    plain = client.chat.completions.create(
        model="newsrag", messages=[{"role": "user", "content": STRIKE}])
    body = {"model": "newsrag", "messages": [{"role": "user", "content": STRIKE}],
            "stream": True}
    with httpx.Client(timeout=60) as http:
        response = http.post(f"{base_url}/chat/completions", json=body)
    assert response.status_code == 200
    chunks = [json.loads(line.removeprefix("data: ")) for line in response.text.split("\n")
              if line.startswith("data: ") and line != "data: [DONE]"]
    carrying = [i for i, c in enumerate(chunks) if "event" in c]
    stop = chunks[-1]
    assert carrying == list(range(len(chunks) - 1 - len(carrying), len(chunks) - 1))
    assert all(chunks[i]["choices"] == [{"index": 0, "delta": {}, "logprobs": None,
                                         "finish_reason": None}] for i in carrying)
    assert {chunks[i]["event"]["type"] for i in carrying} == {"source"}
    events = [chunks[i]["event"]["data"] for i in carrying]
    assert events == stop["sources"] == plain.model_extra["sources"]
    assert_open_webui_sources(events, stop["citations"])
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks[:carrying[0]])
    assert text == plain.choices[0].message.content


@needs_shared
def test_a_follow_up_is_answered_about_the_same_person(client: OpenAI) -> None:
    first = client.chat.completions.create(
        model="newsrag", messages=[{"role": "user", "content": AFGHANISTAN}])
    earlier = first.choices[0].message.content
    assert "Asif" in earlier
    follow_up = client.chat.completions.create(model="newsrag", messages=[
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": AFGHANISTAN},
        {"role": "assistant", "content": earlier},
        {"role": "user", "content": FOLLOW_UP},
    ])
    content = follow_up.choices[0].message.content
    citations = citations_of(follow_up)
    assert_cited(content, citations)
    assert any(INDIA in c["quote"] for c in citations), content
    india = next(c for c in citations if INDIA in c["quote"])
    assert india["speaker"] == "Khawaja Muhammad Asif"
    assert f"Khawaja Muhammad Asif (Pakistan’s Defense Minister), according to {india['source']}" \
        in content


# ---- with an LLM configured (the scripted OpenAI-compatible server) ------------------------

@pytest.fixture
def llm_app(news_services: Services, llm_server: ScriptedLLM) -> Iterator[TestClient]:
    """The app over the shared store, answering through the scripted LLM, with no fallback."""
    settings = news_services.settings.model_copy(update={
        "llm_base_url": llm_server.url, "llm_retries": 0, "llm_fallback": False})
    engine = Engine(settings, store=news_services.engine.store,
                    encoder=news_services.engine.encoder)
    services = Services(settings, engine, news_services.ingestor)
    with TestClient(create_app(services=services)) as client:
        yield client


def first_sentence_retrieved(client: TestClient, question: str) -> str:
    """A sentence of the top passage: an LLM answer citing it as [1] passes verification."""
    chunk = client.app.state.services.engine.retriever.search(question).hits[0].chunk
    start, end = chunk.sentences[0]
    return chunk.text[start - chunk.start : end - chunk.start]


def stream_data(client: TestClient, question: str) -> list[str]:
    body = {"model": "newsrag", "stream": True, "messages": [{"role": "user",
                                                              "content": question}]}
    response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    return [line.removeprefix("data: ") for line in response.text.split("\n")
            if line.startswith("data: ")]


def test_an_llm_answer_streams_as_chunks(llm_app: TestClient, llm_server: ScriptedLLM) -> None:
    sentence = first_sentence_retrieved(llm_app, STRIKE)
    llm_server.script(f"{sentence} [1]")
    data = stream_data(llm_app, STRIKE)
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text.startswith(sentence) and "[1]" in text
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["citations"][0]["id"] == 1


def test_an_llm_failing_mid_stream_ends_it_with_an_error_event(
        llm_app: TestClient, llm_server: ScriptedLLM) -> None:
    llm_server.script(Reply(text="Anything at all. [1]", garbage_after=0))
    data = stream_data(llm_app, STRIKE)
    error = json.loads(data[-1])["error"]
    assert error["code"] == error["type"] == "llm_bad_output"
    assert "[DONE]" not in data


# ---- the request shape, through FastAPI's client -----------------------------------------

def test_text_parts_and_extension_fields_are_read(news_client: TestClient) -> None:
    response = news_client.post("/v1/chat/completions", json={
        "model": "anything", "n": 1, "top_p": 0.5, "max_tokens": 10, "user": "u1",
        "messages": [{"role": "user", "content": [{"type": "text", "text": STRIKE}]}],
        "top_k": 2, "filters": {"source": "Northwind Wire"},
    })
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == "newsrag"
    assert body["citations"]
    assert {c["source"] for c in body["citations"]} == {"Northwind Wire"}
    assert len({c["chunk_id"] for c in body["citations"]}) <= 2


@pytest.mark.parametrize(("body", "status"), [
    ({"model": "newsrag"}, 422),
    ({"model": "newsrag", "messages": []}, 422),
    ({"model": "newsrag", "messages": "hello"}, 422),
    ({"model": "newsrag", "messages": [{"role": "assistant", "content": STRIKE}]}, 422),
    ({"model": "newsrag", "messages": [{"role": "user", "content": STRIKE},
                                       {"role": "system", "content": "Be brief."}]}, 422),
    ({"model": "newsrag", "messages": [{"role": "user", "content": ""}]}, 422),
    ({"model": "newsrag", "messages": [{"role": "user", "content": "  \n "}]}, 422),
    ({"model": "newsrag", "messages": [{"role": "user", "content": None}]}, 422),
    ({"model": "newsrag", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}]}, 422),
    ({"model": "newsrag", "messages": [{"role": "wizard", "content": STRIKE}]}, 422),
    ({"model": "newsrag", "messages": [{"role": "user", "content": "x" * 2001}]}, 422),
    ({"model": "newsrag", "messages": [{"role": "user", "content": STRIKE}], "top_k": 0}, 422),
    ({"model": "newsrag", "messages": [{"role": "user", "content": STRIKE}],
      "filters": {"outlet": "x"}}, 422),
])
def test_bad_requests_are_json_4xx(news_client: TestClient, body: dict, status: int) -> None:
    response = news_client.post("/v1/chat/completions", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] and error["message"]


def test_malformed_json_is_400(news_client: TestClient) -> None:
    response = news_client.post("/v1/chat/completions", content=b'{"messages": [',
                                headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"


def test_an_unknown_model_card_is_404(news_client: TestClient) -> None:
    response = news_client.get("/v1/models/gpt-4o")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"
