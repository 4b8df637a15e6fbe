"""Security headers on every response, the request body limit (413), and JSON nested too deeply
for the parser: always the API's JSON error shape."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.middleware import SECURITY_HEADERS
from api.services import Services
from support import make_services, with_settings

LIMIT = 2_000
DEEP = "[" * 10_000 + "]" * 10_000


def assert_secure(headers) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert headers[name] == value, name


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("GET", "/healthz", None, 200),
    ("GET", "/readyz", None, 200),
    ("GET", "/v1/documents?limit=1", None, 200),
    ("GET", "/v1/documents/0000000000000000", None, 404),
    ("POST", "/v1/ask", {"question": ""}, 422),
    ("POST", "/v1/ask", {"question": "Who leads the dockworkers' union?"}, 200),
    ("GET", "/static/app.js", None, 200),
    ("GET", "/nowhere", None, 404),
])
def test_every_response_carries_the_security_headers(news_client: TestClient, method: str,
                                                     path: str, body: dict | None,
                                                     status: int) -> None:
    response = news_client.request(method, path, json=body)
    assert response.status_code == status, response.text
    assert_secure(response.headers)


def test_the_page_keeps_its_own_csp(news_client: TestClient) -> None:
    response = news_client.get("/")
    assert response.status_code == 200
    assert "default-src" in response.headers["content-security-policy"]
    assert_secure(response.headers)


def test_a_streamed_answer_carries_them_too(news_client: TestClient) -> None:
    with news_client.stream("POST", "/v1/ask", json={"question": "What happened at the port?",
                                                     "stream": True}) as response:
        assert response.status_code == 200
        assert_secure(response.headers)
        response.read()


@pytest.mark.parametrize("path", ["/v1/ask", "/v1/documents", "/v1/chat/completions"])
def test_json_nested_too_deeply_is_malformed_json(news_client: TestClient, path: str) -> None:
    response = news_client.post(path, content=DEEP, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "malformed_json"
    assert news_client.get("/healthz").status_code == 200


@pytest.fixture
def limited(fresh_services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services=with_settings(fresh_services,
                                                      max_body_bytes=LIMIT))) as client:
        yield client


def test_a_body_over_the_limit_is_refused_before_it_is_read(limited: TestClient) -> None:
    big = {"title": "Big", "text": "word " * LIMIT}
    response = limited.post("/v1/documents", json=big)
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "payload_too_large" and str(LIMIT) in error["message"]
    assert_secure(response.headers)
    assert limited.get("/v1/documents").json()["total"] == 0


@pytest.mark.parametrize("path", ["/v1/ask", "/v1/documents"])
def test_a_body_without_a_length_is_cut_off_at_the_limit(limited: TestClient, path: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"question": "' if path == "/v1/ask" else b'{"title": "x", "text": "'
        for _ in range(10):
            yield b"a" * 500
        yield b'"}'

    response = limited.post(path, content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_body_within_the_limit_is_served(limited: TestClient) -> None:
    response = limited.post("/v1/documents", json={
        "title": "Small", "text": "The lighthouse keeper retired after forty years."})
    assert response.status_code == 201, response.text
    assert_secure(response.headers)


def test_cors_allows_only_listed_origins(tmp_path, encoder) -> None:
    services = make_services(tmp_path / "cors", encoder,
                             cors_origins=["https://newsroom.example"])
    with TestClient(create_app(services=services)) as client:
        allowed = client.options("/v1/ask", headers={
            "Origin": "https://newsroom.example", "Access-Control-Request-Method": "POST"})
        assert allowed.headers.get("access-control-allow-origin") == "https://newsroom.example"
        other = client.get("/healthz", headers={"Origin": "https://elsewhere.example"})
        assert "access-control-allow-origin" not in other.headers


def test_no_cors_headers_by_default(news_client) -> None:
    response = news_client.get("/healthz", headers={"Origin": "https://elsewhere.example"})
    assert "access-control-allow-origin" not in response.headers
