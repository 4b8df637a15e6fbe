"""Schemathesis against our own OpenAPI schema: generated requests, valid and invalid, and not
one 5xx; every response documented, every invalid request refused with a 4xx.

The app is the real one over a store of this module's own, generation derandomized and
bounded; the configured limits a schema cannot state get requests of their own around each
limit, over real HTTP.
"""

from __future__ import annotations

import contextlib
import socket
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.settings import ServerSettings
from rag.embeddings import Encoder
from rag.schemas import MAX_FILTER_VALUES, MAX_SOURCE_CHARS
from support import EXAMPLES, make_services, response_of, until_closed

pytestmark = pytest.mark.slow

MIN_REQUESTS = 1000
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
# Examples per operation and mode (positive, negative). Plain string path parameters have no
# invalid values, so they get valid ones only; operations without parameters have a single
# request to make (Hypothesis stops once it has tried it). About 1,300 requests in all.
EXAMPLES_PER_OPERATION = {
    "POST /v1/ask": (170, 110),
    "POST /v1/chat/completions": (170, 110),
    "POST /v1/documents": (90, 90),
    "GET /v1/documents": (120, 110),
    "GET /v1/documents/{document_id}": (80, 0),
    "DELETE /v1/documents/{document_id}": (80, 0),
    "GET /v1/models/{model_id}": (80, 0),
}
# Operations not in the table (added later): valid requests only, as many as they have, to 30.
OTHERS = (30, 0)
# An invalid request must be refused with one of these. Schemathesis' default list, with 413:
# a string over its maxLength can make the body larger than RAG_MAX_BODY_BYTES, and then the
# refusal comes before the body is parsed.
REJECTED = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422]
CONFIG = schemathesis.Config.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": REJECTED}}})
QUESTION = "How many dockworkers walked off the job in the Port Averin strike?"


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory,
           encoder: Encoder) -> Iterator[schemathesis.BaseSchema]:
    services = make_services(Path(tmp_path_factory.mktemp("fuzz")) / "store", encoder)
    services.ingestor.ingest_paths([EXAMPLES])
    app = create_app(services=services)
    try:
        yield schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)
    finally:
        asgi.shutdown_lifespans()  # the app's lifespan, started by the loader


def fuzz(operation: schemathesis.APIOperation, mode: GenerationMode, examples: int,
         sent: Counter) -> None:
    checks = [*CHECKS, negative_data_rejection] if mode is GenerationMode.NEGATIVE else CHECKS

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate, Phase.shrink],
              suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        sent[operation.label] += 1
        case.call_and_validate(checks=checks)

    run()


def test_generated_requests_get_documented_responses_and_no_5xx(
        schema: schemathesis.BaseSchema) -> None:
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {operation.label for operation in operations}
    assert set(EXAMPLES_PER_OPERATION) <= labels, labels  # the table names real operations
    assert {"POST /v1/ask", "GET /healthz", "GET /readyz"} <= labels

    sent: Counter[str] = Counter()
    failures: dict[str, str] = {}
    for operation in operations:
        positive, negative = EXAMPLES_PER_OPERATION.get(operation.label, OTHERS)
        for mode, examples in ((GenerationMode.POSITIVE, positive),
                               (GenerationMode.NEGATIVE, negative)):
            if not examples:
                continue
            try:
                fuzz(operation, mode, examples, sent)
            except BaseException as error:  # a FailureGroup is a BaseExceptionGroup
                if isinstance(error, KeyboardInterrupt):
                    raise
                report = f"{type(error).__name__}: {error}"
                failures[f"{operation.label} ({mode.value})"] = report[:4000]

    assert not failures, "\n\n".join(f"{where}:\n{what}" for where, what in failures.items())
    assert sum(sent.values()) >= MIN_REQUESTS, sent
    assert all(sent[label] > 0 for label in labels), sent

    with TestClient(schema.app) as client:  # and the app still answers afterwards
        assert client.get("/healthz").status_code == 200
        response = client.post("/v1/ask", json={"question": QUESTION})
        assert response.status_code == 200, response.text
        assert not response.json()["abstained"]


# --- the limits the schema cannot say: generated around each one, over real HTTP -------------

LIMITS = ServerSettings(_env_file=None)
ROLES = st.sampled_from(["user", "assistant", "system"])
# Lengths near each limit, and ordinary ones.
TURN_CHARS = st.one_of(st.integers(0, 300), st.integers(LIMITS.max_question_chars - 5,
                                                        LIMITS.max_question_chars + 5),
                       st.integers(10_000, 30_000))
AROUND_TURNS = st.integers(0, LIMITS.max_history_turns + 5)


def limited(examples: int) -> settings:
    return settings(max_examples=examples, derandomize=True, database=None, deadline=None,
                    suppress_health_check=list(HealthCheck))


def over_history_limits(history: list[dict]) -> bool:
    return (len(history) > LIMITS.max_history_turns
            or any(t["role"] == "user" and len(t["content"]) > LIMITS.max_question_chars
                   for t in history)
            or sum(len(t["content"]) for t in history) > LIMITS.max_history_chars)


@pytest.fixture(scope="module")
def live(live_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_url, timeout=120) as client:
        yield client


def test_histories_over_any_limit_are_422_and_within_them_answered(live: httpx.Client) -> None:
    seen: Counter[int] = Counter()

    @given(turns=AROUND_TURNS, sizes=st.lists(TURN_CHARS, min_size=1, max_size=4),
           roles=st.lists(ROLES, min_size=1, max_size=4), chat=st.booleans())
    @limited(40)
    def run(turns: int, sizes: list[int], roles: list[str], chat: bool) -> None:
        history = [{"role": roles[n % len(roles)], "content": "w" * sizes[n % len(sizes)]}
                   for n in range(turns)]
        question = "And why did the dockworkers strike?"
        if chat:
            response = live.post("/v1/chat/completions", json={
                "messages": [*history, {"role": "user", "content": question}]})
        else:
            response = live.post("/v1/ask", json={"question": question, "history": history})
        expected = 422 if over_history_limits(history) else 200
        assert response.status_code == expected, (turns, sizes, roles, response.text[:300])
        if expected == 422:
            assert response.json()["error"]["code"] == "invalid_request"
        seen[expected] += 1

    run()
    assert set(seen) == {200, 422}, seen  # both sides of the limits were tried


def test_filters_over_any_limit_are_422_and_within_them_answered(live: httpx.Client) -> None:
    seen: Counter[int] = Counter()

    @given(sources=st.integers(0, MAX_FILTER_VALUES + 3),
           name_chars=st.integers(1, MAX_SOURCE_CHARS + 3),
           ids=st.integers(0, MAX_FILTER_VALUES + 3))
    @limited(25)
    def run(sources: int, name_chars: int, ids: int) -> None:
        filters = {"source": [f"{n:0{name_chars}d}"[-name_chars:] for n in range(sources)],
                   "article_ids": [f"{n:016x}" for n in range(ids)]}
        response = live.post("/v1/ask", json={"question": QUESTION, "filters": filters})
        over = (sources > MAX_FILTER_VALUES or (sources and name_chars > MAX_SOURCE_CHARS)
                or ids > MAX_FILTER_VALUES)
        assert response.status_code == (422 if over else 200), response.text[:300]
        seen[422 if over else 200] += 1

    run()
    assert set(seen) == {200, 422}, seen


def test_headers_over_any_limit_are_431_and_within_them_served(live_url: str) -> None:
    address = urlsplit(live_url)
    seen: Counter[int] = Counter()
    start = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"

    @given(count=st.integers(0, LIMITS.max_headers + 3),
           value_bytes=st.one_of(st.integers(0, 100), st.integers(600, 700),
                                 st.integers(60_000, 70_000)))
    @limited(30)
    def run(count: int, value_bytes: int) -> None:
        fields = [b"X-F%03d: %s\r\n" % (n, b"v" * (value_bytes // max(count, 1)))
                  for n in range(count)]
        request = start + b"".join(fields) + b"\r\n"
        with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
            with contextlib.suppress(OSError):
                sock.sendall(request)
            data, closed = until_closed(sock, 30)
        status = response_of(data)[0]
        over = count + 2 > LIMITS.max_headers or len(request) > LIMITS.max_header_bytes
        assert closed and status == (431 if over else 200), (count, value_bytes, data[:200])
        seen[status] += 1

    run()
    assert set(seen) == {200, 431}, seen
