"""Schemathesis against our own OpenAPI schema: over a thousand generated requests, valid and
invalid, and not one 5xx; every response has a documented status, a documented content type and
a body the schema describes, and every invalid request is refused with a 4xx.

The app is the real one (real encoder, real embedded Chroma) over a store of this module's own
(examples/articles in a temporary folder), since the fuzzer also posts and deletes documents.
Requests go through Schemathesis' ASGI transport, in process. Generation is derandomized (the
same requests on every run) and bounded per operation.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
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
from rag.embeddings import Encoder
from support import EXAMPLES, make_services

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
