"""A real `rag serve` process under hostile use: load while it ingests, and slow clients.

Soak: sixteen clients ask for 30 s while articles are posted; every answer is a valid 200 citing
only articles whole in the store when it was given. Slow clients (slowloris) are ended once the
header or body timeout passes while a normal client is served. Every wait is bounded.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from processes import Server, serve
from rag.config import Settings
from rag.schemas import Answer, Citation
from rag.store import Store
from support import (
    EXAMPLES,
    MULTIHOP_CORPUS,
    read_response,
    response_of,
    sse_events,
    until_closed,
)

pytestmark = pytest.mark.slow

CLIENTS = 16
ASK_SECONDS = 30.0  # the clients ask for this long, then finish the answer they wait for
INGEST_BATCH = 2  # articles a POST
INGEST_ARTICLES = 40  # at most; ingestion stops with the clients
REQUEST_TIMEOUT = 60.0
# Bounds, not expectations: how long the tests wait for the run to end.
DRAIN_SECONDS = 150.0
EXAMPLE_QUESTIONS = [
    "How many dockworkers walked off the job in the Port Averin strike?",
    "What did the Bank of Veltara do to its policy rate in May 2025?",
    "Why did towns in the Kessa Valley begin water rationing?",
    "How many residents were evacuated because of the Greywood Hills wildfire?",
]


def upload_examples(client: httpx.Client) -> set[str]:
    """Index examples/articles through the API (multipart); the ids stored."""
    files = [("files", (path.name, path.read_bytes(), "application/octet-stream"))
             for path in sorted(EXAMPLES.iterdir()) if path.is_file()]
    response = client.post("/v1/documents", files=files)
    assert response.status_code == 201, response.text
    body = response.json()
    return {d["id"] for d in body["added"] + body["unchanged"]}


# ---- soak ----------------------------------------------------------------------------------


@dataclass
class Asked:
    question: str
    stream: bool
    ended: float  # wall clock (time.time()) when the answer was in
    citations: list[Citation] = field(default_factory=list)
    problem: str | None = None


@dataclass
class Posted:
    started: float  # wall clock
    ended: float
    stored: list[str] = field(default_factory=list)  # added or already there
    problem: str | None = None


def multihop_documents() -> list[dict]:
    """The first MultiHop-RAG articles of a moderate length, as the JSON the API takes."""
    corpus = json.loads(MULTIHOP_CORPUS.read_text())
    documents = []
    for item in corpus:
        if not 2_000 <= len(item["body"]) <= 8_000:
            continue
        documents.append({"title": item["title"], "text": item["body"], "source": item["source"],
                          "published": item["published_at"][:10], "url": item["url"]})
        if len(documents) == INGEST_ARTICLES:
            break
    return documents


def read_answer(response: httpx.Response, stream: bool) -> tuple[list[Citation], str | None]:
    """The answer's citations, and what is wrong with the response (None: nothing)."""
    if response.status_code != 200:
        return [], f"status {response.status_code}: {response.text[:300]}"
    try:
        if stream:
            events = dict(sse_events(response.text))
            if "error" in events or "done" not in events:
                return [], f"stream without its end: {list(events)}"
            citations = [Citation.model_validate(c) for c in events["citations"]]
        else:
            citations = Answer.model_validate(response.json()).citations
    except Exception as error:  # a body that is not what the schema says
        return [], f"invalid body ({error!r}): {response.text[:300]}"
    for citation in citations:
        if not citation.chunk_id.startswith(f"{citation.article_id}:"):
            return citations, f"chunk {citation.chunk_id} is not of {citation.article_id}"
        if citation.quote not in citation.text:
            return citations, f"quote not in its passage: {citation.quote!r}"
    return citations, None


def ask_until(url: str, questions: list[str], first: int, stop_at: float,
              asked: list[Asked]) -> None:
    """One client: questions in turn, one in five streamed, until `stop_at` (monotonic)."""
    with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT) as client:
        turn = first
        while time.monotonic() < stop_at:
            question, stream = questions[turn % len(questions)], turn % 5 == 0
            turn += CLIENTS
            try:
                response = client.post("/v1/ask", json={"question": question, "stream": stream})
                citations, problem = read_answer(response, stream)
            except httpx.HTTPError as error:
                citations, problem = [], f"{type(error).__name__}: {error}"
            asked.append(Asked(question, stream, time.time(), citations, problem))


def ingest_until(url: str, documents: list[dict], stop_at: float, posted: list[Posted]) -> None:
    with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT * 2) as client:
        for begin in range(0, len(documents), INGEST_BATCH):
            if time.monotonic() >= stop_at:
                return
            started = time.time()
            try:
                response = client.post("/v1/documents",
                                       json=documents[begin : begin + INGEST_BATCH])
            except httpx.HTTPError as error:
                posted.append(Posted(started, time.time(), problem=repr(error)))
                return
            done = Posted(started, time.time())
            if response.status_code == 201:
                body = response.json()
                done.stored = [d["id"] for d in body["added"] + body["unchanged"]]
            else:
                done.problem = f"status {response.status_code}: {response.text[:300]}"
            posted.append(done)


@pytest.mark.skipif(not MULTIHOP_CORPUS.is_file(), reason=f"{MULTIHOP_CORPUS} not found")
def test_answers_under_load_while_ingesting_cite_only_whole_articles(tmp_path: Path) -> None:
    documents = multihop_documents()
    questions = EXAMPLE_QUESTIONS + [d["title"] for d in documents]
    asked: list[Asked] = []
    posted: list[Posted] = []
    with serve(tmp_path / "soak") as server:
        with httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT) as client:
            before = upload_examples(client)
        stop_at = time.monotonic() + ASK_SECONDS
        threads = [threading.Thread(target=ask_until, daemon=True,
                                    args=(server.url, questions, n, stop_at, asked))
                   for n in range(CLIENTS)]
        threads.append(threading.Thread(target=ingest_until, daemon=True,
                                         args=(server.url, documents, stop_at, posted)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=max(0.0, stop_at + DRAIN_SECONDS - time.monotonic()))
        assert not any(t.is_alive() for t in threads), "clients still waiting after the bound"
        server.stop()  # the store is read below, from this process
        log = server.log_tail()

    # Every request succeeded, with a valid body.
    problems = [f"{a.question!r} (stream={a.stream}): {a.problem}" for a in asked if a.problem]
    problems += [f"ingest: {p.problem}" for p in posted if p.problem]
    assert not problems, "\n".join(problems[:20]) + f"\n{log}"
    assert len(asked) >= CLIENTS, len(asked)
    during = {article_id for p in posted for article_id in p.stored} - before
    assert during, "the ingestion stored nothing during the run"

    # Each cited article was there before the run or posted before the answer came back...
    cited: dict[str, float] = {}  # article id -> when the first answer citing it came back
    for answer in asked:
        for citation in answer.citations:
            article_id = citation.article_id
            if article_id not in before:
                starts = [p.started for p in posted if article_id in p.stored]
                assert starts, f"{article_id} cited but never posted"
                assert min(starts) < answer.ended, f"{article_id} cited before it was posted"
            cited[article_id] = min(cited.get(article_id, answer.ended), answer.ended)
    assert cited.keys() & during, "no answer cited an article stored during the run"

    # ...was stamped as stored no later than that answer, and is whole in the final store,
    # each cited passage being its stored chunk's text.
    store = Store.open(Settings(data_dir=server.data_dir, _env_file=None))
    chunks = {}
    for article_id, first_cited in cited.items():
        meta = store.article_metadata(article_id)
        stamped = dt.datetime.fromisoformat(meta["ingested_at"]).timestamp()
        assert stamped <= first_cited, (article_id, meta["ingested_at"], first_cited)
        stored = store.chunks_of(article_id)
        assert len(stored) == meta["chunks"] > 0, article_id
        chunks.update({chunk.id: chunk for chunk in stored})
    for citation in (c for answer in asked for c in answer.citations):
        chunk = chunks.get(citation.chunk_id)
        assert chunk is not None, f"cited chunk {citation.chunk_id} is not stored"
        assert (chunk.text, chunk.start, chunk.end) == \
            (citation.text, citation.start, citation.end), citation.chunk_id


# ---- slow clients --------------------------------------------------------------------------

HEADER_TIMEOUT = 2.0
BODY_TIMEOUT = 2.0
# How long a slow client waits for the server to end its connection: a bound, far above them.
CUT_OFF_BOUND = 20.0
STRIKE_QUESTION = EXAMPLE_QUESTIONS[0]


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve(tmp_path_factory.mktemp("slow-clients"),
               header_timeout_seconds=str(HEADER_TIMEOUT),
               body_timeout_seconds=str(BODY_TIMEOUT)) as server:
        with httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT) as client:
            upload_examples(client)
        yield server


def slow_client(port: int, opening: bytes, trickle: bytes = b"",
                pause: float = 0.25) -> tuple[bytes, bool]:
    """Send `opening`, then `trickle` a byte every `pause` s; what came back, and whether the
    server closed the connection within CUT_OFF_BOUND."""
    deadline = time.monotonic() + CUT_OFF_BOUND
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        if opening:
            sock.sendall(opening)
        data = b""
        for byte in trickle:
            got, closed = until_closed(sock, pause)  # doubles as the pause
            data += got
            if closed or time.monotonic() > deadline:
                return data, closed
            try:
                sock.sendall(bytes([byte]))
            except OSError:  # the server has closed it
                break
        got, closed = until_closed(sock, max(0.0, deadline - time.monotonic()))
        return data + got, closed


def post_head(path: str, length: int, content_type: str = "application/json") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


BOUNDARY = "soakboundary"
ATTACKS = {
    "silent": (b"", b""),
    "headers a byte at a time": (b"GET /healthz HTTP/1.1\r\n", b"X-Padding: " + b"a" * 400),
    "stalled JSON body": (post_head("/v1/ask", 1000) + b'{"question": "How many', b""),
    "trickled JSON body": (post_head("/v1/ask", 400), b'{"question": "' + b"w" * 380),
    "stalled upload": (post_head("/v1/documents", 100_000,
                                 f"multipart/form-data; boundary={BOUNDARY}")
                       + f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; "
                         f"filename=\"a.txt\"\r\n\r\nThe harbour".encode(), b""),
}


def test_slow_clients_are_cut_off_while_others_are_served(guarded: Server) -> None:
    outcomes: dict[str, tuple[bytes, bool]] = {}

    def attack(name: str, opening: bytes, trickle: bytes) -> None:
        outcomes[name] = slow_client(guarded.port, opening, trickle)

    threads = [threading.Thread(target=attack, args=(f"{name} #{n}", *ATTACKS[name]),
                                daemon=True)
               for name in ATTACKS for n in range(2)]
    for thread in threads:
        thread.start()
    served = 0
    with httpx.Client(base_url=guarded.url, timeout=REQUEST_TIMEOUT) as client:
        # A normal client meanwhile: served while the slow ones hold their connections.
        while served < 3 or (any(t.is_alive() for t in threads) and served < 50):
            assert client.get("/healthz").status_code == 200
            response = client.post("/v1/ask", json={"question": STRIKE_QUESTION})
            assert response.status_code == 200, response.text
            assert "2,400" in response.json()["answer"]
            served += 1
    for thread in threads:
        thread.join(timeout=CUT_OFF_BOUND + 10)
    assert not any(t.is_alive() for t in threads)

    assert len(outcomes) == len(threads)
    for name, (data, closed) in outcomes.items():
        assert closed, f"{name}: still open after {CUT_OFF_BOUND} s ({data[:200]!r})"
        if data:  # the server may answer before closing: then a 408
            status, headers, body = response_of(data)
            assert status == 408, (name, data[:300])
            assert headers.get("connection") == "close", name
            assert json.loads(body)["error"]["code"] == "request_timeout", name
    for name in ("stalled JSON body", "stalled upload"):  # all it sent was read: the 408 is sure
        for n in range(2):
            assert outcomes[f"{name} #{n}"][0].startswith(b"HTTP/1.1 408"), name

    assert httpx.get(f"{guarded.url}/healthz", timeout=10).status_code == 200


def test_a_keep_alive_connection_is_cut_off_between_requests(guarded: Server) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with socket.create_connection(("127.0.0.1", guarded.port), timeout=5) as sock:
        sock.sendall(request)
        status, _, body = read_response(sock, REQUEST_TIMEOUT)
        assert (status, json.loads(body)) == (200, {"status": "ok"})
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")  # the next request's headers never end
        data, closed = until_closed(sock, CUT_OFF_BOUND)
    assert closed, data
    assert not data or data.startswith(b"HTTP/1.1 408"), data


def test_a_slow_but_steady_upload_within_the_deadline_is_served(guarded: Server) -> None:
    body = json.dumps({"title": "Harbour ferry", "text": "The harbour ferry now runs every "
                       "twenty minutes, the operator said on Monday."}).encode()
    with socket.create_connection(("127.0.0.1", guarded.port), timeout=5) as sock:
        sock.sendall(post_head("/v1/documents", len(body)))
        for begin in range(0, len(body), len(body) // 3 + 1):  # three pieces, 0.2 s apart
            sock.sendall(body[begin : begin + len(body) // 3 + 1])
            time.sleep(0.2)
        status, _, answer = read_response(sock, REQUEST_TIMEOUT)
    assert status == 201, answer
    assert len(json.loads(answer)["added"]) == 1
