"""One process at a time on an embedded store, with real `rag` processes: a second `rag index`
waits for the first, `rag index` / `rag ask` / `rag docs` beside a running `rag serve` send their
work to it, and a killed holder lets go. Afterwards every ask answers and the counts are exact.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from processes import RAG, Server, rag_env, serve
from rag.config import Settings
from rag.ownership import OWNER_FILE
from rag.store import Store
from support import EXAMPLES

pytestmark = pytest.mark.slow

# Bounds, not expectations.
RUN_SECONDS = 300.0
QUESTION = "How many dockworkers walked off the job in the Port Averin strike?"


def start(command: list[str], data_dir: Path, cwd: Path, **settings: str) -> subprocess.Popen:
    return subprocess.Popen([str(RAG), *command], env=rag_env(data_dir, **settings), cwd=cwd,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def run(command: list[str], data_dir: Path, cwd: Path, **settings: str
        ) -> subprocess.CompletedProcess:
    return subprocess.run([str(RAG), *command], env=rag_env(data_dir, **settings), cwd=cwd,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=RUN_SECONDS)


def wait_for_owner(data_dir: Path, process: subprocess.Popen) -> dict:
    deadline = time.monotonic() + RUN_SECONDS
    while not (data_dir / OWNER_FILE).exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the first command never claimed the store"
        time.sleep(0.05)
    return json.loads((data_dir / OWNER_FILE).read_text())


def whole(data_dir: Path) -> tuple[int, int]:
    """The store's article and chunk counts, checked consistent: every article holds exactly
    the chunks its record vouches for, and no chunk is without its article."""
    store = Store.open(Settings(data_dir=data_dir, _env_file=None))
    counts = store.article_chunk_counts()
    for article_id, count in counts.items():
        assert len(store.chunks_of(article_id)) == count, article_id
    assert sum(counts.values()) == store.chunk_count()
    return len(counts), store.chunk_count()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    shutil.copytree(EXAMPLES, folder)
    return folder


def test_a_second_index_run_waits_for_the_first(tmp_path: Path, corpus: Path) -> None:
    data = tmp_path / "data"
    first = start(["index", "--json", str(corpus)], data, tmp_path)
    try:
        owner = wait_for_owner(data, first)
        assert owner["pid"] == first.pid and owner["command"] == "rag index"
        second = run(["index", "--json", str(corpus)], data, tmp_path)
        out, err = first.communicate(timeout=RUN_SECONDS)
    finally:
        first.kill()
    assert first.returncode == 0, err
    assert second.returncode == 0, second.stderr
    assert f"waiting for rag index (pid {first.pid})" in second.stderr
    added = json.loads(out)["added"]
    again = json.loads(second.stdout)
    assert again["added"] == [] and again["unchanged"] == len(added)
    assert whole(data)[0] == len(added)
    answer = run(["ask", "--json", QUESTION], data, tmp_path)
    assert answer.returncode == 0, answer.stderr
    assert json.loads(answer.stdout)["citations"]


def test_a_killed_holder_lets_go(tmp_path: Path, corpus: Path) -> None:
    data = tmp_path / "data"
    first = start(["index", str(corpus)], data, tmp_path)
    try:
        wait_for_owner(data, first)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        first.kill()
    after = run(["index", "--json", str(corpus)], data, tmp_path, store_wait_seconds="0")
    assert after.returncode == 0, after.stderr
    assert "waiting" not in after.stderr
    assert whole(data)[0] == len(json.loads(after.stdout)["added"]) + \
        json.loads(after.stdout)["unchanged"]


def test_a_busy_store_fails_after_the_wait_in_one_line(tmp_path: Path, corpus: Path) -> None:
    data = tmp_path / "data"
    first = start(["index", str(corpus)], data, tmp_path)
    try:
        wait_for_owner(data, first)
        refused = run(["docs", "list"], data, tmp_path, store_wait_seconds="0")
    finally:
        first.kill()
        first.wait(timeout=30)
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1 and "in use by rag index" in refused.stderr
    assert "Traceback" not in refused.stderr


def ask(server: Server, question: str = QUESTION) -> dict:
    response = httpx.post(f"{server.url}/v1/ask", json={"question": question}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def test_commands_beside_a_server_go_through_it(tmp_path: Path, corpus: Path) -> None:
    with serve(tmp_path / "serving") as server:
        data, cwd = server.data_dir, tmp_path
        assert ask(server)["abstained"]  # nothing indexed yet

        indexed = run(["index", "--json", str(corpus)], data, cwd)
        assert indexed.returncode == 0, indexed.stderr
        report = json.loads(indexed.stdout)
        assert report["added"] and not report["skipped"]
        ready = httpx.get(f"{server.url}/readyz", timeout=10).json()
        assert ready["articles"] == len(report["added"])
        assert ask(server)["citations"]

        # The same articles the server would store itself: ids from the same cleaning.
        listed = run(["docs", "list", "--json"], data, cwd)
        assert listed.returncode == 0, listed.stderr
        assert {row["id"] for row in json.loads(listed.stdout)} == set(report["added"])
        shown = run(["docs", "show", report["added"][0]], data, cwd)
        assert shown.returncode == 0 and json.loads(shown.stdout)["text"]
        answered = run(["ask", "--json", QUESTION], data, cwd)
        assert answered.returncode == 0 and json.loads(answered.stdout)["citations"]
        speakers = run(["speakers", "--json"], data, cwd)
        assert speakers.returncode == 0, speakers.stderr
        quoted = json.loads(speakers.stdout)
        assert quoted and all(s["statements"] > 0 for s in quoted)
        said = run(["statements", "--json", "--speaker", quoted[0]["name"]], data, cwd)
        assert said.returncode == 0, said.stderr
        assert {r["speaker"] for r in json.loads(said.stdout)} == {quoted[0]["name"]}

        # An edit, a deletion and a prune, through the server.
        strike = next(corpus.glob("*port_strike*"))
        strike.write_text(strike.read_text().replace("2,400", "2,500"))
        gone = next(p for p in sorted(corpus.iterdir()) if p != strike)
        gone.unlink()
        again = json.loads(run(["index", "--json", str(corpus)], data, cwd).stdout)
        assert len(again["added"]) == 1 and len(again["replaced"]) == 1
        assert [m["path"] for m in again["missing"]] == [str(gone.resolve())]
        assert again["pruned"] == []
        pruned = json.loads(run(["index", "--json", "--prune", str(corpus)], data, cwd).stdout)
        assert pruned["pruned"] == [again["missing"][0]["id"]]
        deleted = run(["docs", "delete", again["added"][0]], data, cwd)
        assert deleted.returncode == 0, deleted.stderr

        ready = httpx.get(f"{server.url}/readyz", timeout=10).json()
        assert ready["articles"] == len(report["added"]) - 2
        assert all(ask(server, q)["citations"] is not None for q in (QUESTION, "wildfire"))
        # A second server on the same store is refused, in one line.
        second = run(["serve", "--port", "1"], data, cwd)
        assert second.returncode == 1 and "already served by rag serve" in second.stderr
    assert whole(data)[0] == len(report["added"]) - 2


def test_several_workers_need_a_chroma_server(tmp_path: Path) -> None:
    refused = run(["serve", "--workers", "2"], tmp_path / "data", tmp_path)
    assert refused.returncode == 2 and "Chroma server" in refused.stderr
