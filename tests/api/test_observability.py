"""Prometheus metrics, request ids and the JSON access log, through the real app.

Every test builds an app of its own (each has its own metrics registry), over the shared news
store when it only reads and over an empty store of its own when it writes. The last test runs
`rag serve` itself, to see what reaches stderr.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from api.logs import ACCESS_LOGGER, JsonFormatter, TextFormatter
from api.services import Services
from support import EXAMPLES, assert_json_error, scrape, with_settings

KEY = "observability-test-key-81f2"
ACCESS_FIELDS = {"ts", "level", "request_id", "method", "route", "status", "duration_ms",
                 "client_ip"}
HEX_ID = re.compile(r"[0-9a-f]{32}")


def requests(metrics: dict, route: str, status: int, method: str = "GET") -> float:
    labels = frozenset({"method": method, "route": route, "status": str(status)}.items())
    return metrics.get(("newsrag_http_requests_total", labels), 0.0)


def changes(metrics: dict, kind: str, change: str) -> float:
    return metrics[(f"newsrag_{kind}_changed_total", frozenset({"change": change}.items()))]


def gauge(metrics: dict, name: str) -> float:
    return metrics[(name, frozenset())]


@pytest.fixture
def client(news_services: Services) -> Iterator[TestClient]:
    """A new app (so new counters) over the shared read-only news store."""
    with TestClient(create_app(services=news_services)) as client:
        yield client


@pytest.fixture
def writer(fresh_services: Services) -> Iterator[TestClient]:
    """A new app over an empty store of this test's own, behind an API key."""
    services = with_settings(fresh_services, api_key=SecretStr(KEY))
    with TestClient(create_app(services=services),
                    headers={"Authorization": f"Bearer {KEY}"}) as client:
        yield client


# --- metrics ---------------------------------------------------------------------------------

def test_metrics_are_prometheus_text(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    assert "# TYPE newsrag_http_requests_total counter" in response.text
    assert "# TYPE newsrag_http_request_duration_seconds histogram" in response.text


def test_requests_are_counted_by_route_template_and_status(client: TestClient,
                                                          news_services: Services) -> None:
    rows, _ = news_services.engine.store.list_articles(0, 1)
    known = rows[0]["id"]
    assert client.get(f"/v1/documents/{known}").status_code == 200
    assert client.get("/v1/documents/no-such-article-7f3e").status_code == 404
    assert client.get("/no/such/page").status_code == 404
    assert client.post("/v1/ask", json={"question": ""}).status_code == 422

    metrics = scrape(client)
    template = "/v1/documents/{document_id}"
    assert requests(metrics, template, 200) == 1
    assert requests(metrics, template, 404) == 1
    assert requests(metrics, "unmatched", 404) == 1
    assert requests(metrics, "/v1/ask", 422, method="POST") == 1
    latency = ("newsrag_http_request_duration_seconds_count",
               frozenset({"method": "GET", "route": template}.items()))
    assert metrics[latency] == 2
    routes = {dict(labels).get("route") for _, labels in metrics}
    assert not any(known in str(r) or "no-such-article" in str(r) or "/no/such" in str(r)
                   for r in routes), routes


def test_unusual_methods_share_one_label(client: TestClient) -> None:
    assert client.request("BREW", "/healthz").status_code == 405
    assert requests(scrape(client), "/healthz", 405, method="other") == 1


def test_index_gauges_equal_the_store_counts(client: TestClient,
                                             news_services: Services) -> None:
    metrics = scrape(client)
    store = news_services.engine.store
    assert gauge(metrics, "newsrag_index_articles") == store.article_count() > 0
    assert gauge(metrics, "newsrag_index_chunks") == store.chunk_count() > 0


def test_writes_through_the_api_move_the_ingest_counters(writer: TestClient) -> None:
    story = (EXAMPLES / "01_port_strike.txt").read_bytes()
    before = scrape(writer)
    assert changes(before, "articles", "added") == 0
    assert gauge(before, "newsrag_index_articles") == 0

    first = writer.post("/v1/documents", files=[("files", ("story.txt", story, "text/plain"))])
    assert first.status_code == 201, first.text
    chunks = first.json()["chunks_added"]
    edited = story + b"\n\nThe union said talks would resume on Thursday morning.\n"
    second = writer.post("/v1/documents", data={"replaces": first.json()["added"][0]["id"]},
                         files=[("files", ("story.txt", edited, "text/plain"))])
    assert second.status_code == 201, second.text
    assert len(second.json()["replaced"]) == 1
    new_id = second.json()["added"][0]["id"]
    middle = scrape(writer)
    assert changes(middle, "articles", "added") == 2
    assert changes(middle, "articles", "replaced") == 1
    assert changes(middle, "chunks", "added") == chunks + second.json()["chunks_added"]
    assert changes(middle, "chunks", "deleted") == chunks
    assert gauge(middle, "newsrag_index_articles") == 1
    assert gauge(middle, "newsrag_index_chunks") == second.json()["chunks_added"]

    deleted = writer.delete(f"/v1/documents/{new_id}")
    assert deleted.status_code == 200, deleted.text
    after = scrape(writer)
    assert changes(after, "articles", "deleted") == 1
    assert changes(after, "chunks", "deleted") == chunks + deleted.json()["chunks_deleted"]
    assert gauge(after, "newsrag_index_articles") == gauge(after, "newsrag_index_chunks") == 0


def test_metrics_need_no_key_like_every_read(news_services: Services) -> None:
    app = create_app(services=with_settings(news_services, api_key=SecretStr(KEY)))
    with TestClient(app) as client:
        assert_json_error(client.delete("/v1/documents/anything"), 401, "unauthorized")
        response = client.get("/metrics")
        assert response.status_code == 200
        assert KEY not in response.text


def test_a_crash_is_counted_as_a_500_and_names_the_request(news_services: Services) -> None:
    app = create_app(services=news_services)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom", headers={"X-Request-ID": "crash-1"})
        error = assert_json_error(response, 500, "internal_error")
        assert error["request_id"] == response.headers["x-request-id"] == "crash-1"
        assert requests(scrape(client), "/boom", 500) == 1


# --- request ids ----------------------------------------------------------------------------

def test_a_well_formed_request_id_is_echoed(client: TestClient) -> None:
    incoming = "trace-01.ABC_def-" + "9" * 47  # 64 characters, every allowed kind
    response = client.get("/healthz", headers={"X-Request-ID": incoming})
    assert response.headers["x-request-id"] == incoming


def test_a_request_id_is_generated_when_none_is_sent(client: TestClient) -> None:
    first, second = client.get("/healthz"), client.get("/healthz")
    assert HEX_ID.fullmatch(first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


@pytest.mark.parametrize("bad", ["a" * 65, "two words", "semi;colon", "new\tline", "ünï"],
                         ids=["too long", "space", "semicolon", "tab", "non-ascii"])
def test_a_malformed_request_id_is_replaced(client: TestClient, bad: str) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": bad.encode()})
    assert response.status_code == 200
    assert HEX_ID.fullmatch(response.headers["x-request-id"])


def test_error_bodies_carry_the_request_id(client: TestClient) -> None:
    response = client.post("/v1/ask", json={"question": ""}, headers={"X-Request-ID": "req-42"})
    error = assert_json_error(response, 422, "invalid_request")
    assert error["request_id"] == response.headers["x-request-id"] == "req-42"


def test_refused_before_routing_still_names_the_request(news_services: Services) -> None:
    app = create_app(services=with_settings(news_services, max_body_bytes=1_000))
    with TestClient(app) as client:
        response = client.post("/v1/ask", json={"question": "x" * 2_000})
        error = assert_json_error(response, 413, "payload_too_large")
        assert error["request_id"] == response.headers["x-request-id"]
        assert requests(scrape(client), "/v1/ask", 413, method="POST") == 1


def test_a_streamed_answer_carries_its_request_id(client: TestClient) -> None:
    with client.stream("POST", "/v1/ask", headers={"X-Request-ID": "stream-7"},
                       json={"question": "What happened at the port?", "stream": True}) as r:
        assert r.status_code == 200
        assert r.headers["x-request-id"] == "stream-7"
        assert "event: done" in r.read().decode()


# --- the access log -------------------------------------------------------------------------

def test_one_json_access_line_a_request_without_secrets(writer: TestClient,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    marker = "Zanzibarquetzal"
    response = writer.post("/v1/ask", json={"question": f"What did {marker} say?"},
                           headers={"X-Request-ID": "log-test-1"})
    assert response.status_code == 200, response.text

    access = [r for r in caplog.records if r.name == ACCESS_LOGGER]
    assert len(access) == 1
    line = json.loads(JsonFormatter().format(access[0]))
    assert set(line) >= ACCESS_FIELDS, line
    assert line["request_id"] == "log-test-1"
    assert (line["method"], line["route"], line["status"]) == ("POST", "/v1/ask", 200)
    assert line["level"] == "INFO" and line["client_ip"] == "testclient"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    every_line = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    assert KEY not in every_line and marker not in every_line
    assert "authorization" not in every_line.lower()


def test_text_lines_show_the_request_id(client: TestClient,
                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    client.get("/healthz", headers={"X-Request-ID": "text-1"})
    record = next(r for r in caplog.records if r.name == ACCESS_LOGGER)
    assert "[text-1] GET /healthz 200" in TextFormatter().format(record)


# --- `rag serve` ----------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_rag_serve_writes_json_lines_to_stderr_and_no_uvicorn_access_log(
        tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "RAG_DATA_DIR": str(tmp_path / "var"), "RAG_API_KEY": KEY,
           "RAG_LOG_FORMAT": "json", "RAG_LOG_LEVEL": "info"}
    stderr_path = tmp_path / "stderr.log"
    rag = Path(sys.executable).with_name("rag")
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen([str(rag), "serve", "--host", "127.0.0.1", "--port", str(port)],
                                   env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                   stderr=stderr, stdin=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):  # up to about a minute on a loaded machine
            assert process.poll() is None, stderr_path.read_text()[-3000:]
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        response = httpx.get(f"{url}/v1/documents/nothing-here", timeout=30,
                             headers={"X-Request-ID": "serve-1",
                                      "Authorization": f"Bearer {KEY}"})
        assert response.status_code == 404
        # Characters a line reader breaks at, in the path the access log records.
        odd = httpx.get(f"{url}/v1/documents/a%E2%80%A8b%C2%85c%E2%80%A9d%0Be", timeout=30,
                        headers={"X-Request-ID": "serve-2"})
        assert odd.status_code == 404
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)

    # str.splitlines breaks at every line separator: each record must still be one line.
    lines = [json.loads(line) for line in stderr_path.read_text().splitlines() if line.strip()]
    ours = [line for line in lines if line.get("request_id") == "serve-1"]
    assert len(ours) == 1, lines
    odd_lines = [line for line in lines if line.get("request_id") == "serve-2"]
    assert [line["path"] for line in odd_lines] == ["/v1/documents/a\u2028b\x85c\u2029d\x0be"]
    assert ours[0]["route"] == "/v1/documents/{document_id}" and ours[0]["status"] == 404
    assert ours[0]["client_ip"] == "127.0.0.1"
    assert not [line for line in lines if line["logger"] == "uvicorn.access"]
    assert any(line["logger"] == "uvicorn.error" for line in lines)  # uvicorn's own, as JSON
    assert KEY not in stderr_path.read_text()
