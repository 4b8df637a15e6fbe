"""Shared helpers of the performance benchmarks: stores of a given size, servers, timing, output.

Stores bigger than the embedded MultiHop-RAG corpus are made of its real chunks (text, metadata,
vectors, sentence vectors) plus perturbed copies: each copy of an article gets new article and
chunk ids and its chunk and sentence vectors plus small gaussian noise, renormalised.
Everything is written through `Store.add_articles`, so the collections have the product's
layout.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np

from rag.config import Settings
from rag.schemas import Article, Chunk
from rag.store import WRITE_BATCH, Store

ROOT = Path(__file__).resolve().parents[1]
# BENCH_MULTIHOP: where the MultiHop-RAG files are when the checkout is not beside shared/.
MULTIHOP = Path(os.environ.get("BENCH_MULTIHOP", ROOT.parent / "shared" / "bench" / "multihop_rag"))
RESULTS = ROOT / "bench" / "results"
# The store `bench.multihop_retrieval` builds (the whole corpus, embedded by the product).
SOURCE_STORE = Path(os.environ.get("BENCH_SOURCE_STORE", "var/bench-multihop"))
NOISE = 0.01  # per dimension: a copy's vector keeps a cosine of about 0.98 to the original
FORMAT = 2  # of the stores built here: 2 with sentence vectors (older ones are rebuilt)


def settings_for(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, _env_file=None)


def questions(limit: int | None = None) -> list[str]:
    """MultiHop-RAG dev questions, in file order."""
    rows = json.loads((MULTIHOP / "queries_dev.json").read_text())
    return [r["query"] for r in rows][:limit]


def machine() -> dict:
    """What the figures were measured on, and how busy the machine was."""
    model = platform.processor()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory_gb = 0.0
    with contextlib.suppress(OSError):
        kb = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        memory_gb = round(kb / 1024 / 1024, 1)
    return {"cpu": model, "cores": os.cpu_count(), "memory_gb": memory_gb,
            "load_average_1m": round(os.getloadavg()[0], 2), "python": platform.python_version()}


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return {"p50_ms": round(statistics.median(samples_ms), 2), "p95_ms": round(cuts[94], 2),
            "p99_ms": round(cuts[98], 2), "n": len(samples_ms)}


def write_results(name: str, payload: dict, table: str) -> None:
    """bench/results/<name>.json and <name>.md, and the table on stdout."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"machine": machine(), **payload}
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2))
    (RESULTS / f"{name}.md").write_text(table + "\n")
    print(table, flush=True)


def markdown_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


# ---- stores of a given size ------------------------------------------------------------------

_Source = tuple[Article, list[Chunk], np.ndarray, list[np.ndarray]]


def _source_articles(source: Store) -> list[_Source]:
    by_article: dict[str, list[Chunk]] = {}
    for chunk in source.iter_chunks():
        by_article.setdefault(chunk.article_id, []).append(chunk)
    out = []
    for article_id in sorted(by_article):
        chunks = sorted(by_article[article_id], key=lambda c: c.ordinal)
        ids = [c.id for c in chunks]
        vectors, sentences = source.chunk_vectors(ids), source.sentence_vectors(ids)
        if any(sentences[i] is None for i in ids):
            raise SystemExit(f"{SOURCE_STORE} was embedded without sentence vectors: "
                             "index it again with `python -m bench.multihop_retrieval`")
        out.append((source.get_article(article_id), chunks,
                    np.stack([vectors[i] for i in ids]), [sentences[i] for i in ids]))
    return out


def _noisy(vectors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    moved = vectors + rng.normal(0.0, NOISE, vectors.shape).astype(np.float32)
    return moved / np.linalg.norm(moved, axis=1, keepdims=True)


def _copy(original: _Source, copy: int, rng: np.random.Generator) -> _Source:
    """A perturbed copy: new ids, same text and metadata, vectors moved by a little noise."""
    article, chunks, vectors, sentences = original
    new_id = hashlib.sha256(f"{article.id}:{copy}".encode()).hexdigest()[:16]
    new_chunks = [c.model_copy(update={"id": f"{new_id}:{c.ordinal}", "article_id": new_id})
                  for c in chunks]
    return (article.model_copy(update={"id": new_id}), new_chunks, _noisy(vectors, rng),
            [_noisy(s, rng) for s in sentences])


def build_store(target_chunks: int, data_dir: Path) -> int:
    """A store of about `target_chunks` chunks under `data_dir` (reused when already built);
    returns its chunk count. Real articles first, then perturbed copies, whole articles."""
    marker = data_dir / "bench-store.json"
    if marker.exists() and json.loads(marker.read_text()).get("built") == [target_chunks, FORMAT]:
        return json.loads(marker.read_text())["chunks"]
    shutil.rmtree(data_dir, ignore_errors=True)  # built by older code, or cut short
    source = Store.open(settings_for(SOURCE_STORE))
    if source.chunk_count() == 0:
        raise SystemExit(f"{SOURCE_STORE} holds no chunks: run `python -m bench.multihop_retrieval`"
                         " first, or point BENCH_SOURCE_STORE at an embedded MultiHop-RAG store")
    originals = _source_articles(source)
    store = Store.open(settings_for(data_dir))
    rng = np.random.default_rng(0)
    written, copy, batch = 0, 0, []
    began = time.perf_counter()
    while written < target_chunks and copy < 1000:
        for original in originals:
            if written >= target_chunks:
                break
            batch.append(original if copy == 0 else _copy(original, copy, rng))
            written += len(original[1])
            if sum(len(b[1]) for b in batch) >= WRITE_BATCH - 100:
                _write(store, batch)
                batch = []
        copy += 1
        print(f"  {data_dir}: {written} chunks ({time.perf_counter() - began:.0f} s)",
              flush=True)
    _write(store, batch)
    count = store.chunk_count()
    marker.write_text(json.dumps({"built": [target_chunks, FORMAT], "chunks": count,
                                  "real_chunks": min(count, source.chunk_count()),
                                  "noise_per_dimension": NOISE}))
    return count


def _write(store: Store, batch: list[_Source]) -> None:
    store.add_articles([(article, chunks, vectors) for article, chunks, vectors, _ in batch],
                       [s for *_, sentences in batch for s in sentences])


# ---- servers ---------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`rag serve` on a free port as a subprocess, for one data dir; a context manager."""

    def __init__(self, data_dir: Path, log: Path | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log or data_dir / "server.log"
        self.process: subprocess.Popen | None = None
        self.started = 0.0

    def start(self) -> None:
        env = {**os.environ, "RAG_DATA_DIR": str(self.data_dir), "ANONYMIZED_TELEMETRY": "False",
               "HF_HUB_OFFLINE": "1"}
        env.pop("OPENAI_API_KEY", None)
        env.pop("RAG_CHROMA_URL", None)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        rag = Path(sys.executable).with_name("rag")
        self.started = time.perf_counter()
        with self.log.open("w") as log:
            self.process = subprocess.Popen([str(rag), "serve", "--port", str(self.port)],
                                            env=env, stdout=log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 300.0) -> float:
        """Seconds from process start to the first 200 of /readyz."""
        deadline = time.perf_counter() + timeout
        with httpx.Client(timeout=2.0) as client:
            while time.perf_counter() < deadline:
                if self.process and self.process.poll() is not None:
                    raise RuntimeError(f"server exited early; see {self.log}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{self.url}/readyz").status_code == 200:
                        return time.perf_counter() - self.started
                time.sleep(0.02)
        raise TimeoutError(f"{self.url} not ready after {timeout} s; see {self.log}")

    def peak_memory_mb(self) -> float:
        """The server's peak resident memory so far (VmHWM)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM"):
                return round(int(line.split()[1]) / 1024, 1)
        return float("nan")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def running(data_dir: Path) -> Iterator[Server]:
    """A ready server over `data_dir`, stopped on the way out."""
    with Server(data_dir) as server:
        server.wait_ready()
        yield server
