"""Shared fixtures: the real stack (embedded Chroma, the real encoder) on temporary stores.

The network is closed for every test (pytest-socket, see pyproject): only loopback is allowed,
so any attempt to reach a model hub or telemetry endpoint fails the test that made it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.protocol import configured
from api.services import Services
from rag.embeddings import Encoder, load_encoder
from scripted_llm import ScriptedLLM
from support import EXAMPLES, SHARED_CORPUS, make_services, served


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One cache of derived model files for the run (the int8 question encoder is built
    once), seen by every engine and `rag` process the tests start, never the user's cache."""
    path = tmp_path_factory.mktemp("models")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAG_MODEL_CACHE_DIR", str(path))
        yield path


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    """The real embedding model (the documents' encoder), loaded once for the whole run."""
    return load_encoder("onnx")


@pytest.fixture(scope="session")
def news_services(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> Services:
    """A store holding the shared real news corpus and the sample corpus (read-only use)."""
    services = make_services(tmp_path_factory.mktemp("news"), encoder)
    paths = [EXAMPLES] + ([SHARED_CORPUS] if SHARED_CORPUS.is_dir() else [])
    services.ingestor.ingest_paths(paths)
    return services


@pytest.fixture(scope="session")
def news_client(news_services: Services) -> Iterator[TestClient]:
    """Real HTTP through FastAPI's client, on the shared read-only store."""
    with TestClient(create_app(services=news_services)) as client:
        yield client


@pytest.fixture(scope="session")
def live_url(news_services: Services) -> Iterator[str]:
    """The app over the shared read-only news store, served over real HTTP on 127.0.0.1 with
    `rag serve`'s protocol (the headers' deadline and limits at their default settings)."""
    with served(create_app(services=news_services),
                http=configured(news_services.settings)) as url:
        yield url


@pytest.fixture(scope="module")
def live_client(live_url: str) -> Iterator[httpx.Client]:
    """An HTTP client of `live_url`'s server."""
    with httpx.Client(base_url=live_url, timeout=60) as client:
        yield client


@pytest.fixture
def fresh_services(tmp_path: Path, encoder: Encoder) -> Services:
    """An empty store of the test's own, for tests that write."""
    return make_services(tmp_path / "store", encoder)


@pytest.fixture(scope="session")
def scripted_llm_server() -> Iterator[ScriptedLLM]:
    """An OpenAI-compatible server on 127.0.0.1 answering from a script (one a run)."""
    server = ScriptedLLM().start()
    yield server
    server.stop()


@pytest.fixture
def llm_server(scripted_llm_server: ScriptedLLM) -> ScriptedLLM:
    """The scripted LLM server with an empty script and request log for this test."""
    scripted_llm_server.reset()
    return scripted_llm_server
