"""The MCP server driven by the official SDK's clients: streamable HTTP at /mcp of a real
uvicorn server on 127.0.0.1 over the shared news store (tools, their schemas and answers; the
origin rule and the API key), `rag mcp` over stdio on a store of its own, and the tools read
through a running server's HTTP API as `rag mcp` does when `rag serve` holds the store."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from fastapi.testclient import TestClient
from mcp import Client
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, PaginatedRequestParams
from pydantic import SecretStr

from api.app import create_app
from api.cli import main
from api.mcp import build_server
from api.protocol import configured
from api.readers import EngineReader, ServerReader
from api.remote import ServerClient
from api.services import Services
from processes import RAG, rag_env, serve
from support import EXAMPLES, assert_json_error, served, with_settings

STRIKE = "How many dockworkers walked off the job in the Port Averin strike?"
STRIKE_TITLE = "Dockworkers walk out at Port Averin as wage talks collapse"
MARKER = re.compile(r"\[(\d+)\]")
TOOLS = {"ask", "search", "statements", "get_article"}
# Bounds, not expectations: a call on the shared 2-core machine takes well under a second.
CALL_SECONDS = 60
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "test", "version": "0"}}}
ACCEPT = {"accept": "application/json, text/event-stream"}


def run(session_of: Callable[[], Any], body: Callable[[ClientSession], Awaitable[Any]],
        seconds: float = CALL_SECONDS) -> Any:
    """`body` on an initialized session over the transport `session_of()` opens."""
    async def go() -> Any:
        with anyio.fail_after(seconds):
            async with session_of() as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                return await body(session)

    return anyio.run(go)


def http(url: str, headers: dict[str, str] | None = None) -> Callable[[], Any]:
    return lambda: streamable_http_client(
        f"{url}/mcp", http_client=httpx2.AsyncClient(headers=headers, timeout=CALL_SECONDS))


def ok(result: CallToolResult) -> dict:
    """A successful call's structured content (and it has a text rendering too)."""
    text = " ".join(block.text for block in result.content if block.type == "text")
    assert not result.is_error, text
    assert text and result.structured_content is not None
    return result.structured_content


def error_text(result: CallToolResult) -> str:
    assert result.is_error, result
    return " ".join(block.text for block in result.content if block.type == "text")


def test_the_four_tools_are_listed_with_their_input_schemas(live_url: str) -> None:
    listed = run(http(live_url), lambda session: session.list_tools())
    tools = {tool.name: tool for tool in listed.tools}
    assert set(tools) == TOOLS
    ask = tools["ask"].input_schema
    assert ask["required"] == ["question"]
    assert {"question", "top_k", "source", "published_from", "published_to"} <= \
        set(ask["properties"])
    assert "maxLength" in ask["properties"]["question"]
    assert '"maximum": 50' in str(ask["properties"]["top_k"]).replace("'", '"')
    assert tools["get_article"].input_schema["required"] == ["article_id"]
    assert "limit" in tools["statements"].input_schema["properties"]
    for tool in tools.values():
        assert tool.description and tool.output_schema
        assert "\n " not in tool.description  # no indentation of the source
        assert tool.annotations and tool.annotations.read_only_hint


def test_ask_cites_quotes_found_verbatim_in_the_articles_get_article_returns(
        live_url: str) -> None:
    async def body(session: ClientSession) -> tuple[dict, dict[str, dict]]:
        answer = ok(await session.call_tool("ask", {"question": STRIKE}))
        articles = {c["article_id"]: ok(await session.call_tool(
            "get_article", {"article_id": c["article_id"]})) for c in answer["citations"]}
        return answer, articles

    answer, articles = run(http(live_url), body)
    assert not answer["abstained"] and "2,400" in answer["answer"]
    assert answer["citations"] and set(map(int, MARKER.findall(answer["answer"]))) <= \
        {c["id"] for c in answer["citations"]}
    for citation in answer["citations"]:
        article = articles[citation["article_id"]]
        assert article["text"][citation["quote_start"]:citation["quote_end"]] == \
            citation["quote"]
        assert (citation["title"], citation["source"]) == (article["title"], article["source"])
    assert STRIKE_TITLE in {a["title"] for a in articles.values()}


def test_search_ranks_the_article_that_answers_first(live_url: str) -> None:
    found = ok(run(http(live_url), lambda session: session.call_tool(
        "search", {"query": STRIKE, "top_k": 5})))
    passages = found["passages"]
    assert 1 <= len(passages) <= 5
    assert passages[0]["title"] == STRIKE_TITLE and "2,400" in passages[0]["text"]
    assert [p["rank"] for p in passages] == list(range(1, len(passages) + 1))


def test_statements_quote_a_known_speaker(live_url: str) -> None:
    found = ok(run(http(live_url), lambda session: session.call_tool(
        "statements", {"speaker": "the Ostmark foreign minister",
                       "source": "The Averin Ledger", "limit": 5})))
    assert found["statements"] and found["total"] >= len(found["statements"])
    assert len(found["statements"]) <= 5
    assert {s["speaker"] for s in found["statements"]} == {"Livia Varnholt"}
    assert {s["source"] for s in found["statements"]} == {"The Averin Ledger"}


def test_the_articles_are_resources(live_url: str) -> None:
    async def body(session: ClientSession) -> tuple[Any, list, Any, list[str]]:
        listed = await session.list_resources()
        templates = (await session.list_resource_templates()).resource_templates
        read = await session.read_resource(listed.resources[0].uri)
        errors = []
        for call in (lambda: session.read_resource("newsrag://articles/0000000000000000"),
                     lambda: session.read_resource("newsrag://articles/" + "a" * 300),
                     lambda: session.read_resource("newsrag://articles/..%2F..%2Fhealthz"),
                     lambda: session.list_resources(
                         params=PaginatedRequestParams(cursor="not-a-cursor"))):
            with pytest.raises(MCPError) as raised:
                await call()
            errors.append(str(raised.value))
        return listed, templates, read, errors

    listed, templates, read, errors = run(http(live_url), body)
    documents = httpx.get(f"{live_url}/v1/documents", params={"limit": 1000, "facets": "false"},
                          timeout=CALL_SECONDS).json()
    assert listed.next_cursor is None  # one page holds them all
    assert sorted(r.name for r in listed.resources) == \
        sorted(d["id"] for d in documents["documents"])
    assert all(r.uri == f"newsrag://articles/{r.name}" for r in listed.resources)
    strike = next(r for r in listed.resources if r.title == STRIKE_TITLE)
    assert strike.mime_type == "application/json"
    assert strike.description == "Northwind Wire, 2025-03-03"
    assert [t.uri_template for t in templates] == ["newsrag://articles/{article_id}"]
    article = json.loads(read.contents[0].text)
    stored = httpx.get(f"{live_url}/v1/documents/{listed.resources[0].name}",
                       timeout=CALL_SECONDS).json()
    assert (article["id"], article["title"], article["text"]) == \
        (stored["id"], stored["title"], stored["text"])
    assert "raw_text" not in article
    assert "document not found" in errors[0]
    assert "not a cursor" in errors[3]


def test_the_resource_listing_pages_with_a_cursor(news_services: Services) -> None:
    reader = EngineReader(lambda: news_services.engine)

    async def go() -> list[list[str]]:
        pages: list[list[str]] = []
        with anyio.fail_after(CALL_SECONDS):
            async with Client(build_server(reader, articles_page=4)) as client:
                cursor = None
                for _ in range(100):  # bounded
                    page = await client.list_resources(cursor=cursor)
                    pages.append([r.name for r in page.resources])
                    cursor = page.next_cursor
                    if cursor is None:
                        break
        return pages

    pages = anyio.run(go)
    names = [name for page in pages for name in page]
    assert len(pages) > 2 and all(len(page) == 4 for page in pages[:-1])
    assert 1 <= len(pages[-1]) <= 4
    assert len(set(names)) == len(names) == news_services.engine.store.article_count()


def test_bad_arguments_are_tool_errors(live_url: str) -> None:
    async def body(session: ClientSession) -> list[str]:
        calls = [("get_article", {"article_id": "0000000000000000"}),
                 ("ask", {"question": STRIKE, "top_k": 0}),
                 ("ask", {"question": "   "}),
                 ("ask", {"question": "x" * 2500}),
                 ("search", {"query": STRIKE, "published_from": "2025-13-01"}),
                 ("statements", {"published_from": "2025-09-17",
                                 "published_to": "2025-09-16"}),
                 ("statements", {"limit": 1001}),
                 ("ask", {})]
        return [error_text(await session.call_tool(name, arguments))
                for name, arguments in calls]

    errors = run(http(live_url), body)
    assert "document not found" in errors[0]
    assert "RAG_MAX_QUESTION_CHARS" in errors[3]
    assert "published_from is after published_to" in errors[5]
    # The server is still there and answering.
    assert ok(run(http(live_url), lambda session: session.call_tool(
        "search", {"query": STRIKE, "top_k": 1})))["passages"]


def test_a_page_of_another_origin_is_refused(live_url: str) -> None:
    host = live_url.removeprefix("http://")
    for headers in ({"origin": "https://evil.example"},
                    # DNS rebinding: the page's own name now points here, so Host matches it.
                    {"origin": f"http://rebound.example:{host.split(':')[1]}",
                     "host": f"rebound.example:{host.split(':')[1]}"}):
        response = httpx.post(f"{live_url}/mcp", json=INITIALIZE, timeout=30,
                              headers={**ACCEPT, **headers})
        assert_json_error(response, 403, "cross_origin_forbidden")
        response = httpx.get(f"{live_url}/mcp", headers={**ACCEPT, **headers}, timeout=30)
        assert_json_error(response, 403, "cross_origin_forbidden")
    # No Origin (a desktop client, an agent's backend): served.
    response = httpx.post(f"{live_url}/mcp", json=INITIALIZE, headers=ACCEPT, timeout=30)
    assert response.status_code == 200, response.text


def test_an_origin_listed_in_cors_origins_is_served(news_services: Services) -> None:
    listed = "http://localhost:6274"  # MCP Inspector's page
    app = create_app(services=with_settings(news_services, cors_origins=[listed]))
    with TestClient(app) as client:
        response = client.post("/mcp", json=INITIALIZE, headers={**ACCEPT, "origin": listed})
        assert response.status_code == 200, response.text
        assert response.headers["access-control-allow-origin"] == listed
        refused = client.post("/mcp", json=INITIALIZE,
                              headers={**ACCEPT, "origin": "http://localhost:9999"})
        assert_json_error(refused, 403, "cross_origin_forbidden")


def test_malformed_requests_get_a_4xx_never_a_5xx(news_services: Services) -> None:
    app = create_app(services=with_settings(news_services, max_body_bytes=2000))
    with TestClient(app) as client:
        for content, headers in (("{", {}), ("[]", {}), ('{"jsonrpc": "2.0"}', {}),
                                 (json.dumps(INITIALIZE), {"content-type": "text/plain"})):
            response = client.post("/mcp", content=content,
                                   headers={**ACCEPT, "content-type": "application/json",
                                            **headers})
            assert 400 <= response.status_code < 500, (content, response.text)
        # A well-formed call of a method there is not: the protocol's error, in a 200.
        response = client.post("/mcp", json={**INITIALIZE, "method": "no/such"}, headers=ACCEPT)
        assert response.json()["error"]["code"] == -32601, response.text
        response = client.post("/mcp", json={**INITIALIZE, "padding": "x" * 5000},
                               headers=ACCEPT)
        assert_json_error(response, 413, "payload_too_large")


def test_a_get_is_a_405_not_an_event_stream_held_open(live_url: str) -> None:
    for headers in ({}, {"accept": "text/event-stream"}, ACCEPT):
        response = httpx.get(f"{live_url}/mcp", headers=headers, timeout=10)
        assert_json_error(response, 405, "method_not_allowed")
        assert "POST" in response.headers["allow"]
    # The SDK's client, which may open that stream, still works.
    listed = run(http(live_url), lambda session: session.list_tools())
    assert {tool.name for tool in listed.tools} == TOOLS


def test_mcp_is_not_in_the_openapi_schema(news_services: Services) -> None:
    """JSON-RPC over one URL is not an OpenAPI operation: the tools' schemas are what MCP
    clients read (tools/list), and the schema fuzzer would only send it non-protocol bodies."""
    with TestClient(create_app(services=news_services)) as client:
        assert "/mcp" not in client.get("/openapi.json").json()["paths"]


@pytest.fixture(scope="module")
def keyed_url(news_services: Services) -> Iterator[str]:
    services = with_settings(news_services, api_key=SecretStr("s3cret"))
    with served(create_app(services=services), http=configured(services.settings)) as url:
        yield url


def test_with_an_api_key_mcp_needs_it(keyed_url: str) -> None:
    response = httpx.post(f"{keyed_url}/mcp", json=INITIALIZE, headers=ACCEPT, timeout=30)
    assert_json_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    response = httpx.post(f"{keyed_url}/mcp", json=INITIALIZE, timeout=30,
                          headers={**ACCEPT, "authorization": "Bearer wrong"})
    assert_json_error(response, 403, "forbidden")
    listed = run(http(keyed_url, {"authorization": "Bearer s3cret"}),
                 lambda session: session.list_tools())
    assert {tool.name for tool in listed.tools} == TOOLS


def test_an_app_started_again_serves_mcp_again(news_services: Services) -> None:
    app = create_app(services=news_services)
    for _ in range(2):
        with TestClient(app) as client:
            response = client.post("/mcp", json=INITIALIZE, headers=ACCEPT)
            assert response.status_code == 200, response.text


def test_rag_mcp_false_turns_it_off(news_services: Services) -> None:
    with TestClient(create_app(services=with_settings(news_services, mcp=False))) as client:
        assert client.post("/mcp", json=INITIALIZE, headers=ACCEPT).status_code == 404
        assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("mcp", [False, True])
def test_making_the_app_never_loads_the_sdk(mcp: bool) -> None:
    """A second or more of imports a server start need not pay: none when /mcp is off, and
    when it is on, not before the app runs (its server is built then)."""
    code = ("import sys; from api.app import create_app; "
            "from api.settings import ServerSettings; "
            f"app = create_app(ServerSettings(_env_file=None, mcp={mcp})); "
            "print(any(getattr(r, 'path', '') == '/mcp' for r in app.routes), "
            "sorted(m for m in sys.modules if m == 'mcp' or m.startswith('mcp.')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=True)
    assert loaded.stdout.strip() == f"{mcp} []", loaded.stdout


def test_mcp_that_cannot_be_built_is_a_503_and_the_rest_still_serves(
        news_services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("no MCP today")

    monkeypatch.setattr("api.mcp.build_server", broken)
    with TestClient(create_app(services=news_services)) as client:
        assert_json_error(client.post("/mcp", json=INITIALIZE, headers=ACCEPT), 503,
                          "not_ready")
        assert client.get("/healthz").status_code == 200


def test_the_tools_read_through_a_running_server(live_url: str) -> None:
    """What `rag mcp` serves when `rag serve` holds the store: the same tools over its API."""
    reader = ServerReader(ServerClient(live_url, None, timeout=CALL_SECONDS))

    async def go() -> tuple[dict, dict, dict, str, tuple[list, dict]]:
        with anyio.fail_after(CALL_SECONDS):
            async with Client(build_server(reader)) as client:
                answer = ok(await client.call_tool("ask", {"question": STRIKE}))
                found = ok(await client.call_tool("search", {"query": STRIKE, "top_k": 3}))
                said = ok(await client.call_tool("statements", {"speaker": "Varnholt",
                                                                "limit": 3}))
                missing = error_text(await client.call_tool(
                    "get_article", {"article_id": "../../healthz"}))
                listed = (await client.list_resources()).resources
                strike = next(r for r in listed if r.title == STRIKE_TITLE)
                read = await client.read_resource(strike.uri)
                return answer, found, said, missing, (listed, json.loads(read.contents[0].text))

    answer, found, said, missing, (listed, article) = anyio.run(go)
    total = httpx.get(f"{live_url}/v1/documents", params={"facets": "false"},
                      timeout=CALL_SECONDS).json()["total"]
    assert len(listed) == total
    assert article["title"] == STRIKE_TITLE and "2,400 dockworkers" in article["text"]
    assert "2,400" in answer["answer"] and answer["citations"]
    assert found["passages"][0]["title"] == STRIKE_TITLE
    assert {s["speaker"] for s in said["statements"]} == {"Livia Varnholt"}
    assert "document not found" in missing


def test_rag_mcp_over_stdio(tmp_path: Path, model_cache: Path,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("RAG_DATA_DIR", str(data_dir))
    assert main(["index", str(EXAMPLES), "--quiet"]) == 0
    parameters = StdioServerParameters(
        command=str(RAG), args=["mcp"], cwd=tmp_path,  # cwd: no project .env file is read
        env=rag_env(data_dir, model_cache_dir=str(model_cache)))

    async def body(session: ClientSession) -> tuple[set[str], dict, list, dict]:
        listed = await session.list_tools()
        answer = ok(await session.call_tool("ask", {"question": STRIKE}))
        resources = (await session.list_resources()).resources
        cited = answer["citations"][0]
        read = await session.read_resource(f"newsrag://articles/{cited['article_id']}")
        return ({tool.name for tool in listed.tools}, answer, resources,
                json.loads(read.contents[0].text))

    with (tmp_path / "stderr.log").open("w") as log:
        names, answer, resources, article = run(lambda: stdio_client(parameters, errlog=log),
                                                body)
    assert names == TOOLS
    assert "2,400" in answer["answer"]
    assert {c["title"] for c in answer["citations"]} == {STRIKE_TITLE}
    assert len({r.name for r in resources}) == len(resources) >= len(list(EXAMPLES.iterdir()))
    assert STRIKE_TITLE in {r.title for r in resources}
    cited = answer["citations"][0]
    assert article["title"] == STRIKE_TITLE
    assert article["text"][cited["quote_start"]:cited["quote_end"]] == cited["quote"]


def test_rag_mcp_beside_rag_serve_reads_through_it(tmp_path: Path, model_cache: Path) -> None:
    with serve(tmp_path / "served", model_cache_dir=str(model_cache)) as server:
        indexed = httpx.post(f"{server.url}/v1/documents", timeout=CALL_SECONDS, json={
            "text": (EXAMPLES / "01_port_strike.txt").read_text(), "format": "file"})
        assert indexed.status_code == 201, indexed.text
        parameters = StdioServerParameters(
            command=str(RAG), args=["mcp"], cwd=tmp_path,
            env=rag_env(server.data_dir, model_cache_dir=str(model_cache)))

        async def body(session: ClientSession) -> dict:
            return ok(await session.call_tool("search", {"query": STRIKE, "top_k": 1}))

        with (tmp_path / "stderr.log").open("w") as log:
            found = run(lambda: stdio_client(parameters, errlog=log), body)
        assert found["passages"][0]["title"] == STRIKE_TITLE
        assert f"the store is served by rag serve (pid {server.process.pid})" in \
            (tmp_path / "stderr.log").read_text()
