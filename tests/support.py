"""Paths and markers the tests share (importable: `tests/` is on pytest's pythonpath)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from prometheus_client.parser import text_string_to_metric_families

from api.attribution import attribute
from api.services import Services
from index.pipeline import Ingestor
from rag.config import Settings
from rag.embeddings import Encoder
from rag.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "articles"
SHARED = ROOT.parent / "shared"
SHARED_CORPUS = SHARED / "corpus"
MULTIHOP_CORPUS = SHARED / "bench" / "multihop_rag" / "corpus.json"

needs_shared = pytest.mark.skipif(
    not SHARED_CORPUS.is_dir(), reason=f"../shared/corpus not found at {SHARED_CORPUS}"
)


def make_services(data_dir: Path, encoder: Encoder, **overrides: object) -> Services:
    """Services on a store of their own, with test settings (no key, no .env file)."""
    settings = Settings(**{"data_dir": data_dir, "api_key": None, "_env_file": None, **overrides})
    engine = Engine(settings, encoder=encoder, attribute=attribute)
    return Services(settings, engine, Ingestor(engine.store, encoder, settings))


def with_settings(services: Services, **overrides: object) -> Services:
    """Services over the same store and encoder with some settings changed (e.g. an LLM)."""
    settings = services.settings.model_copy(update=overrides)
    engine = Engine(settings, store=services.engine.store, encoder=services.engine.encoder,
                    attribute=attribute)
    return Services(settings, engine, Ingestor(engine.store, engine.encoder, settings))


def sse_events(body: str) -> list[tuple[str, object]]:
    """Server-sent events as (name, decoded JSON data), comments (pings) left out."""
    events = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[len("event:") :].strip()
            elif line.startswith("data:"):
                data.append(line[len("data:") :].removeprefix(" "))
        if data:
            events.append((name, json.loads("\n".join(data))))
    return events


def assert_json_error(response: Response, status: int, code: str | None = None) -> dict:
    """The response is the API's error shape with this status (and code); returns the error."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error.get("code"), str) and error["code"], body
    assert isinstance(error.get("message"), str) and error["message"], body
    if code is not None:
        assert error["code"] == code, body
    return error


def scrape(client: TestClient) -> dict[tuple[str, frozenset], float]:
    """GET /metrics, parsed by prometheus_client: {(sample name, frozenset(labels)): value}."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples}
