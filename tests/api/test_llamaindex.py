"""newsrag inside real llama-index pipelines: `NewsragRetriever` under a `RetrieverQueryEngine`
and a `QueryFusionRetriever`, `NewsragQueryEngine`'s cited `Response`, each over a real server
on 127.0.0.1 and over the engine in process, on the shared news store.

No LLM is called: the pipelines use the `no_text` response mode, or llama-index-core's own
`MockLLM`, which answers with the prompt it was given (so the test reads what the synthesizer
put in the prompt: our passages and the metadata an LLM sees).
"""

from __future__ import annotations

import asyncio
import re
import socket

import httpx
import pytest
from llama_index.core import get_response_synthesizer
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.response_synthesizers import ResponseMode
from llama_index.core.response_synthesizers.no_text import NoText
from llama_index.core.retrievers import QueryFusionRetriever
from llama_index.core.retrievers.fusion_retriever import FUSION_MODES
from llama_index.core.schema import NodeRelationship

from api.llamaindex import NewsragQueryEngine, NewsragRetriever
from api.remote import ServerError
from api.services import Services
from rag.engine import InvalidRequest
from rag.schemas import Filters

STRIKE = "How many dockworkers walked off the job in the Port Averin strike?"
STRIKE_TITLE = "Dockworkers walk out at Port Averin as wage talks collapse"
UNANSWERABLE = "What is the boiling point of liquid nitrogen on Mars?"
MARKER = re.compile(r"\[(\d+)\]")
METADATA = {"title", "outlet", "date", "url", "article_id", "start", "end", "speaker", "rank"}
CALL_SECONDS = 60


def article_text(url: str, article_id: str) -> str:
    response = httpx.get(f"{url}/v1/documents/{article_id}", timeout=CALL_SECONDS)
    assert response.status_code == 200, response.text
    return response.json()["text"]


@pytest.fixture(params=["http", "in_process"])
def source(request: pytest.FixtureRequest, live_url: str, news_services: Services) -> object:
    """A running newsrag's URL, or the engine of this process, over the same store."""
    return live_url if request.param == "http" else news_services.engine


def test_the_retriever_returns_passages_as_nodes_with_their_metadata(
        source: object, live_url: str) -> None:
    found = NewsragRetriever(source, top_k=5).retrieve(STRIKE)
    assert 1 <= len(found) <= 5
    first = found[0].node
    assert first.metadata["title"] == STRIKE_TITLE and "2,400" in first.get_content()
    assert [n.score for n in found] == sorted((n.score for n in found), reverse=True)
    for ranked, hit in enumerate(found, start=1):
        node = hit.node
        assert set(node.metadata) == METADATA
        assert node.metadata["rank"] == ranked
        text = article_text(live_url, node.metadata["article_id"])
        assert text[node.start_char_idx:node.end_char_idx] == node.get_content()
        assert (node.start_char_idx, node.end_char_idx) == \
            (node.metadata["start"], node.metadata["end"])
        assert node.relationships[NodeRelationship.SOURCE].node_id == \
            node.metadata["article_id"]
    assert first.metadata["outlet"] == "Northwind Wire"
    assert first.metadata["date"] == "2025-03-03"
    # Who speaks in a passage, as the article attributes it.
    spoken = NewsragRetriever(source, top_k=5).retrieve(
        "What did the Ostmark foreign minister say about the border talks?")
    assert any("Livia Varnholt" in (n.node.metadata["speaker"] or "") for n in spoken)


def test_the_same_passages_over_http_and_in_process(live_url: str,
                                                    news_services: Services) -> None:
    over_http = NewsragRetriever(live_url, top_k=8).retrieve(STRIKE)
    in_process = NewsragRetriever(news_services.engine, top_k=8).retrieve(STRIKE)
    assert [n.node.node_id for n in over_http] == [n.node.node_id for n in in_process]
    assert [n.node.metadata for n in over_http] == [n.node.metadata for n in in_process]


def test_filters_keep_to_an_outlet(source: object) -> None:
    found = NewsragRetriever(source, top_k=5,
                             filters=Filters(source=["The Averin Ledger"])).retrieve(STRIKE)
    assert found and {n.node.metadata["outlet"] for n in found} == {"The Averin Ledger"}


def test_a_retriever_query_engine_with_no_llm(source: object) -> None:
    """`no_text` (`NoText`): llama-index retrieves through our retriever and synthesizes
    nothing. The MockLLM is never called: it is there because a synthesizer without an LLM
    resolves llama-index's default, OpenAI (`get_response_synthesizer` passes none to
    `NoText` in llama-index-core 0.14)."""
    engine = RetrieverQueryEngine(retriever=NewsragRetriever(source, top_k=4),
                                  response_synthesizer=NoText(llm=MockLLM()))
    response = engine.query(STRIKE)
    assert not response.response
    assert 1 <= len(response.source_nodes) <= 4
    assert response.source_nodes[0].node.metadata["title"] == STRIKE_TITLE


def test_a_retriever_query_engine_puts_the_passages_in_its_prompt(source: object) -> None:
    """llama-index-core's MockLLM answers with its prompt: the synthesizer's prompt holds our
    passages with the metadata an LLM is shown, and not the offsets or ids."""
    engine = RetrieverQueryEngine(
        retriever=NewsragRetriever(source, top_k=3),
        response_synthesizer=get_response_synthesizer(response_mode=ResponseMode.COMPACT,
                                                      llm=MockLLM()))
    response = engine.query(STRIKE)
    prompt = str(response)
    assert STRIKE in prompt
    assert "About 2,400 dockworkers walked off the job at Port Averin" in prompt
    assert f"title: {STRIKE_TITLE}" in prompt and "outlet: Northwind Wire" in prompt
    assert "date: 2025-03-03" in prompt
    assert "article_id:" not in prompt and "start:" not in prompt


def test_a_query_fusion_retriever_over_http_and_in_process(live_url: str,
                                                           news_services: Services) -> None:
    """Reciprocal-rank fusion of two newsrag retrievers (one over HTTP, one in process, on
    two outlets), asynchronously; one query, so the fusion generates none with an LLM."""
    fusion = QueryFusionRetriever(
        [NewsragRetriever(live_url, top_k=4, filters=Filters(source=["Northwind Wire"])),
         NewsragRetriever(news_services.engine, top_k=4,
                          filters=Filters(source=["The Averin Ledger"]))],
        llm=MockLLM(), mode=FUSION_MODES.RECIPROCAL_RANK, similarity_top_k=6, num_queries=1,
        use_async=True)
    found = fusion.retrieve(STRIKE)
    assert 2 <= len(found) <= 6
    ids = [n.node.node_id for n in found]
    assert len(set(ids)) == len(ids)
    assert {n.node.metadata["outlet"] for n in found} == {"Northwind Wire", "The Averin Ledger"}
    assert found[0].node.metadata["title"] == STRIKE_TITLE


def test_the_query_engine_returns_the_cited_answer(source: object, live_url: str) -> None:
    response = NewsragQueryEngine(source).query(STRIKE)
    assert "2,400" in response.response
    assert response.metadata["abstained"] is False
    assert response.metadata["mode"] == "extractive"
    assert response.metadata["contexts"][0]["title"] == STRIKE_TITLE
    numbers = [n.node.metadata["citation"] for n in response.source_nodes]
    assert numbers and set(map(int, MARKER.findall(response.response))) <= set(numbers)
    for hit in response.source_nodes:
        node = hit.node
        text = article_text(live_url, node.metadata["article_id"])
        quote = node.metadata["quote"]
        assert text[node.metadata["quote_start"]:node.metadata["quote_end"]] == quote
        assert quote in node.get_content()
        assert text[node.start_char_idx:node.end_char_idx] == node.get_content()
    assert STRIKE_TITLE in {n.node.metadata["title"] for n in response.source_nodes}


def test_the_query_engine_asynchronously_and_an_abstention(source: object) -> None:
    response = asyncio.run(NewsragQueryEngine(source).aquery(UNANSWERABLE))
    assert response.metadata["abstained"] is True
    assert response.source_nodes == []
    assert response.response


def test_bad_queries_raise_errors_that_say_what_is_wrong(live_url: str,
                                                         news_services: Services) -> None:
    for query, top_k, expected in (("   ", None, "blank"), ("x" * 2500, None,
                                                           "RAG_MAX_QUESTION_CHARS"),
                                   (STRIKE, 0, "top_k")):
        with pytest.raises(InvalidRequest, match=expected):
            NewsragRetriever(news_services.engine, top_k=top_k).retrieve(query)
        with pytest.raises(ServerError, match="answered 422"):
            NewsragRetriever(live_url, top_k=top_k).retrieve(query)
    with pytest.raises(InvalidRequest, match="blank"):
        NewsragQueryEngine(news_services.engine).query(" ")


def test_a_server_that_is_not_there_is_an_error_at_once() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(ServerError, match="did not answer"):
        NewsragRetriever(f"http://127.0.0.1:{port}", timeout=5).retrieve(STRIKE)
