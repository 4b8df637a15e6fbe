"""Server mode: two API replicas (`rag serve`) sharing one real Chroma server (`chroma run`).

A write through one replica is readable on the other at once and searchable lexically within
`RAG_SNAPSHOT_REFRESH_SECONDS`; a delete is seen by both. The question is built so only the
lexical side can find the new article (thirty closer background stories, ten candidates each).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from processes import chroma_servers, free_port
from support import ROOT

BIN = ROOT / ".venv" / "bin"
CHROMA = BIN / "chroma"
RAG = BIN / "rag"
REFRESH_SECONDS = 1.0
# Beyond the refresh interval: one request's HTTP round trips and a rebuild of a tiny index.
MARGIN_SECONDS = 10.0
# Bounds of the concurrent-writes test: rounds of add-and-delete, and how long it asks.
CHURN_ROUNDS = 40
CHURN_SECONDS = 60.0

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not CHROMA.exists(),
                                 reason=f"the `chroma` executable is missing ({CHROMA})")]


def wait_until(ready: Callable[[], bool], seconds: float, what: str,
               process: subprocess.Popen | None = None, log: Path | None = None) -> None:
    """Poll `ready` every 0.2 s for at most `seconds`; fail with the log's tail otherwise."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            break
        try:
            if ready():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    pytest.fail(f"{what} not ready within {seconds:.0f} s\n{tail}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@dataclass
class Replica:
    url: str
    client: httpx.Client

    def ask(self, question: str) -> dict:
        response = self.client.post("/v1/ask", json={"question": question})
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with chroma_servers(tmp_path_factory.mktemp("chroma-server")) as (url,):
        yield url


@pytest.fixture(scope="module")
def replicas(chroma_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Replica]]:
    folder = tmp_path_factory.mktemp("replicas")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("RAG_") and k != "OPENAI_API_KEY"}
    env.update({"RAG_CHROMA_URL": chroma_url, "RAG_COLLECTION": "replicated",
                "RAG_SNAPSHOT_REFRESH_SECONDS": str(REFRESH_SECONDS), "RAG_CANDIDATES": "10",
                "RAG_DATA_DIR": str(folder / "unused"), "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"})
    started: list[tuple[subprocess.Popen, Path, str]] = []
    try:
        for name in ("a", "b"):
            port, log = free_port(), folder / f"replica-{name}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [str(RAG), "serve", "--host", "127.0.0.1", "--port", str(port)],
                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    env=env, cwd=folder,  # cwd: no project .env file is read
                )
            started.append((process, log, f"http://127.0.0.1:{port}"))
        for process, log, url in started:
            wait_until(lambda url=url: httpx.get(f"{url}/readyz", timeout=5).status_code == 200,
                       90, f"replica {url}", process, log)
        clients = [httpx.Client(base_url=url, timeout=30) for _, _, url in started]
        yield [Replica(url, client) for (_, _, url), client in zip(started, clients, strict=True)]
        for client in clients:
            client.close()
    finally:
        for process, _, _ in started:
            stop(process)


OUTLETS = ["Coastal Gazette", "Harbour Times", "Bay Herald"]
BACKGROUND = [
    {"title": f"Ferry timetable changes on route {n}", "source": OUTLETS[n % 3],
     "published": f"2025-03-{n + 1:02d}",
     "text": f"The harbour ferry on route {n} will run every {10 + n} minutes from March, "
             f"spokesperson number {n} of the operator commented. Evening crossings are added "
             "on weekends, and the ferry timetable keeps fares the same."}
    for n in range(30)
]
RARE = {
    "title": "Moss survey completed", "source": "Valley Ledger", "published": "2025-04-11",
    "text": "Thessaly Vondrakova-Ilunga, a retired botanist, catalogued three hundred species "
            "of moss in the northern valleys over four summers.",
}
QUESTION = "Did Vondrakova-Ilunga comment on the harbour ferry timetable?"


def cited_articles(answer: dict) -> set[str]:
    return {c["article_id"] for c in answer["citations"]}


def retrieved_articles(answer: dict) -> set[str]:
    return {c["article_id"] for c in answer["contexts"]}


def poll(check: Callable[[], bool], seconds: float) -> float | None:
    """Seconds until `check` held (polled every 0.1 s), or None if it never did in time."""
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        if check():
            return time.monotonic() - began
        time.sleep(0.1)
    return None


def test_replicas_share_writes_and_the_lexical_index_follows(replicas: list[Replica]) -> None:
    a, b = replicas
    assert a.client.post("/v1/documents", json=BACKGROUND).status_code == 201
    time.sleep(REFRESH_SECONDS)
    for replica in (a, b):  # both have indexed the background before the write under test
        assert len(retrieved_articles(replica.ask(QUESTION))) > 0

    created = a.client.post("/v1/documents", json=RARE)
    assert created.status_code == 201, created.text
    (added,) = created.json()["added"]
    article_id = added["id"]
    for replica in (a, b):  # the store is shared: readable everywhere at once
        assert replica.client.get(f"/v1/documents/{article_id}").status_code == 200

    bound = REFRESH_SECONDS + MARGIN_SECONDS
    assert article_id in retrieved_articles(a.ask(QUESTION))  # the writer sees it at once
    took = poll(lambda: article_id in retrieved_articles(b.ask(QUESTION)), bound)
    assert took is not None, f"replica b did not retrieve the new article within {bound} s"

    deleted = b.client.delete(f"/v1/documents/{article_id}")
    assert deleted.status_code == 200, deleted.text
    for replica in (a, b):
        assert replica.client.get(f"/v1/documents/{article_id}").status_code == 404
        # Never cited after the delete, even before the lexical index has caught up.
        answer = replica.ask(QUESTION)
        assert article_id not in cited_articles(answer) | retrieved_articles(answer)
    listed = {d["id"] for d in a.client.get("/v1/documents").json()["documents"]}
    assert article_id not in listed


def test_readiness_reports_the_shared_counts(replicas: list[Replica]) -> None:
    counts = [r.client.get("/readyz").json() for r in replicas]
    assert counts[0] == counts[1]
    assert counts[0]["status"] == "ready"


def test_searches_keep_answering_while_another_replica_writes(replicas: list[Replica]) -> None:
    """Replica b refreshes its snapshot while replica a adds and deletes articles under it: a
    read that meets a change is retried, never a failed request."""
    a, b = replicas
    stop_writing = threading.Event()
    written: list[int] = []

    def churn() -> None:
        for n in range(CHURN_ROUNDS):
            if stop_writing.is_set():
                return
            story = {"title": f"Quay repairs, part {n}", "source": "Harbour Times",
                     "text": f"Repairs to quay {n} of the harbour will close berth {n} for "
                             f"{n + 2} weeks, the port authority said, and ferries will use "
                             "the outer pier meanwhile."}
            created = a.client.post("/v1/documents", json=story)
            assert created.status_code == 201, created.text
            for added in created.json()["added"]:
                assert a.client.delete(f"/v1/documents/{added['id']}").status_code == 200
            written.append(n)

    writer = threading.Thread(target=churn, daemon=True)
    writer.start()
    answers = 0
    deadline = time.monotonic() + CHURN_SECONDS
    try:
        while time.monotonic() < deadline and writer.is_alive():
            b.ask("Which berth will the quay repairs close?")  # asserts a 200
            answers += 1
    finally:
        stop_writing.set()
        writer.join(timeout=60)
    assert not writer.is_alive() and written and answers
    assert httpx.get(f"{b.url}/readyz", timeout=10).status_code == 200


def test_a_metadata_correction_reaches_the_other_replica(replicas: list[Replica]) -> None:
    a, b = replicas
    story = {"title": "Lighthouse keeper retires", "source": "Bay Herlad",
             "text": "Amadeo Quintero, keeper of the Cape Sorrel light for thirty-one years, "
                     "retired on Friday as the lamp was switched to automatic operation."}
    created = a.client.post("/v1/documents", json=story)
    (added,) = created.json()["added"]
    question = "Who kept the Cape Sorrel light for thirty-one years?"
    bound = REFRESH_SECONDS + MARGIN_SECONDS
    assert poll(lambda: {c["source"] for c in b.ask(question)["citations"]} == {"Bay Herlad"},
                bound) is not None

    corrected = a.client.post("/v1/documents", json={**story, "source": "Bay Herald"})
    assert [d["id"] for d in corrected.json()["updated"]] == [added["id"]]
    took = poll(lambda: {c["source"] for c in b.ask(question)["citations"]} == {"Bay Herald"},
                bound)
    assert took is not None, f"replica b still cites the old outlet after {bound} s"
    assert a.client.delete(f"/v1/documents/{added['id']}").status_code == 200
