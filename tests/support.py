"""Paths and markers the tests share (importable: `tests/` is on pytest's pythonpath)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from httpx import Response
from prometheus_client.parser import text_string_to_metric_families

from api.attribution import attribute
from api.services import Services
from api.settings import ServerSettings
from index.pipeline import Ingestor
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


@contextmanager
def served(app: object, http: type[asyncio.Protocol] | str = "auto",
           start_seconds: float = 30.0) -> Iterator[str]:
    """The app under uvicorn in a thread, on a free 127.0.0.1 port (with this HTTP protocol
    class); yields its base URL and stops the server at the end."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, http=http, log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + start_seconds
        while not server.started:
            assert thread.is_alive(), "uvicorn stopped during start-up"
            assert time.monotonic() < deadline, f"uvicorn not up after {start_seconds} s"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=start_seconds)
        listener.close()
    assert not thread.is_alive(), "uvicorn did not stop"


def make_services(data_dir: Path, encoder: Encoder, **overrides: object) -> Services:
    """Services on a store of their own, with test settings (no key, no .env file)."""
    settings = ServerSettings(**{"data_dir": data_dir, "api_key": None, "_env_file": None,
                                 **overrides})
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


def ask_ok(client: httpx.Client | TestClient, question: str, **body: object) -> dict:
    """POST /v1/ask; the answer's JSON, after checking it is a 200."""
    response = client.post("/v1/ask", json={"question": question, **body})
    assert response.status_code == 200, response.text
    return response.json()


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


# ---- raw HTTP/1.1 over a socket, for requests a client library would not send as they are ----


def until_closed(sock: socket.socket, seconds: float) -> tuple[bytes, bool]:
    """What the server sends until it closes the connection, and whether it did in `seconds`."""
    data, deadline = b"", time.monotonic() + seconds
    sock.settimeout(0.1)
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except OSError:  # reset: closed with our unread bytes in its buffer
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


def response_of(data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (names in lower case) and body of a response's bytes."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split(" ")[1]), headers, body


def read_response(sock: socket.socket, timeout: float = 60.0) -> tuple[int, dict[str, str], bytes]:
    """One whole response with a Content-Length (bounded by `timeout` a read)."""
    sock.settimeout(timeout)
    data = b""
    while True:
        if b"\r\n\r\n" in data:
            status, headers, body = response_of(data)
            if len(body) >= int(headers.get("content-length", 0)):
                return status, headers, body
        chunk = sock.recv(65536)
        assert chunk, f"closed before the whole response: {data[:300]!r}"
        data += chunk
