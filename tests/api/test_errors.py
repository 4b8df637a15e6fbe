"""Bad input to POST /v1/ask: always a JSON 4xx `{"error": {"code", "message"}}`, never a 5xx.

Runs the real app over the shared news store (`news_client`); nothing here writes to it.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from rag.config import Settings
from support import assert_json_error

MAX_QUESTION_CHARS = Settings.model_fields["max_question_chars"].default
MAX_HISTORY = 50  # turns AskRequest.history takes
GOOD_QUESTION = "How many dockworkers walked off the job in the Port Averin strike?"


# (case id, JSON body, expected status, expected code, words the message must contain)
BAD_BODIES: list[tuple[str, dict[str, Any], int, str, tuple[str, ...]]] = [
    ("empty question", {"question": ""}, 422, "invalid_request", ("question",)),
    ("blank question", {"question": "   "}, 422, "invalid_request", ("question",)),
    ("question over the limit", {"question": "a" * (MAX_QUESTION_CHARS + 1)}, 422,
     "invalid_request", ("question", str(MAX_QUESTION_CHARS))),
    ("question not a string", {"question": 123}, 422, "invalid_request", ("question",)),
    ("top_k not a number", {"question": GOOD_QUESTION, "top_k": "ten"}, 422,
     "invalid_request", ("top_k",)),
    ("filters not an object", {"question": GOOD_QUESTION, "filters": "x"}, 422,
     "invalid_request", ("filters",)),
    ("top_k zero", {"question": GOOD_QUESTION, "top_k": 0}, 422, "invalid_request",
     ("top_k",)),
    ("top_k over 50", {"question": GOOD_QUESTION, "top_k": 51}, 422, "invalid_request",
     ("top_k",)),
    ("unknown field", {"question": GOOD_QUESTION, "temperature": 0.2}, 422,
     "invalid_request", ("temperature",)),
    ("unknown filter", {"question": GOOD_QUESTION, "filters": {"outlet": "x"}}, 422,
     "invalid_request", ("outlet",)),
    ("llm mode without an llm", {"question": GOOD_QUESTION, "mode": "llm"}, 422,
     "invalid_request", ("RAG_LLM_BASE_URL",)),
    ("unknown mode", {"question": GOOD_QUESTION, "mode": "poetry"}, 422, "invalid_request",
     ("mode",)),
    ("history over the limit", {"question": GOOD_QUESTION, "history": [
        {"role": "user", "content": "And then?"}] * (MAX_HISTORY + 1)}, 422, "invalid_request",
     ("history", str(MAX_HISTORY))),
]


@pytest.mark.parametrize(("body", "status", "code", "words"),
                         [case[1:] for case in BAD_BODIES], ids=[c[0] for c in BAD_BODIES])
def test_bad_ask_body_is_a_json_4xx(news_client: TestClient, body: dict, status: int,
                                    code: str, words: tuple[str, ...]) -> None:
    error = assert_json_error(news_client.post("/v1/ask", json=body), status, code)
    for word in words:
        assert word in error["message"], error


@pytest.mark.parametrize("raw", [b'{"question": ', b"{question: 'x'}", b"\xff\xfe"],
                         ids=["truncated", "not json", "not utf-8"])
def test_malformed_json_is_400(news_client: TestClient, raw: bytes) -> None:
    response = news_client.post("/v1/ask", content=raw,
                                headers={"content-type": "application/json"})
    assert_json_error(response, 400, "malformed_json")


@pytest.mark.parametrize(("method", "path", "status", "code"), [
    ("GET", "/v1/nowhere", 404, "not_found"),
    ("POST", "/v2/ask", 404, "not_found"),
    ("GET", "/v1/ask", 405, "method_not_allowed"),
    ("DELETE", "/v1/ask", 405, "method_not_allowed"),
], ids=["unknown route", "unknown version", "GET ask", "DELETE ask"])
def test_unknown_routes_and_methods_are_json(news_client: TestClient, method: str, path: str,
                                             status: int, code: str) -> None:
    assert_json_error(news_client.request(method, path), status, code)


def test_question_at_the_limit_is_accepted(news_client: TestClient) -> None:
    question = (GOOD_QUESTION + " ") * (MAX_QUESTION_CHARS // (len(GOOD_QUESTION) + 1))
    question = question.ljust(MAX_QUESTION_CHARS, "?")
    assert len(question) == MAX_QUESTION_CHARS
    response = news_client.post("/v1/ask", json={"question": question})
    assert response.status_code == 200, response.text
    assert isinstance(response.json()["abstained"], bool)


def test_server_still_answers_after_bad_requests(news_client: TestClient) -> None:
    for _, body, status, code, _ in BAD_BODIES:
        assert_json_error(news_client.post("/v1/ask", json=body), status, code)
    assert_json_error(news_client.post("/v1/ask", content=b'{"question": ',
                                       headers={"content-type": "application/json"}),
                      400, "malformed_json")
    assert_json_error(news_client.get("/v1/nowhere"), 404)
    assert_json_error(news_client.get("/v1/ask"), 405)

    response = news_client.post("/v1/ask", json={"question": GOOD_QUESTION})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert not answer["abstained"]
    assert "2,400" in answer["answer"]
