"""Shared helpers of the performance benchmarks: stores of a given size (real MultiHop-RAG
chunks, then perturbed copies, optionally with rare terms), servers, timing, output. How the
stores are made: docs/benchmarks.md, sections 1 and 10.
"""

from __future__ import annotations

import compileall
import contextlib
import hashlib
import itertools
import json
import math
import os
import platform
import re
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
import Stemmer

from index import stories
from rag.config import Settings
from rag.lexical import Tokens
from rag.schemas import Article, Chunk
from rag.store import WRITE_BATCH, Store

ROOT = Path(__file__).resolve().parents[1]
# The MultiHop-RAG files (BENCH_MULTIHOP when the checkout is not beside `shared/`).
MULTIHOP = Path(os.environ.get("BENCH_MULTIHOP", ROOT.parent / "shared" / "bench" / "multihop_rag"))
RESULTS = ROOT / "bench" / "results"
# The store `bench.multihop_retrieval` builds (the whole corpus, embedded by the product).
SOURCE_STORE = Path(os.environ.get("BENCH_SOURCE_STORE", "var/bench-multihop"))
NOISE = 0.01  # per dimension: a copy's vector keeps a cosine of about 0.98 to the original
FORMAT = 2  # of the stores built here: 2 with sentence vectors (older ones are rebuilt)


def settings_for(data_dir: Path, chroma_url: str | None = None) -> Settings:
    """The settings of a bench store under `data_dir` (on the Chroma server at `chroma_url`
    when one is given: its texts and vectors too; `data_dir` keeps its snapshots)."""
    return Settings(data_dir=data_dir, chroma_url=chroma_url, _env_file=None)


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


def ask(client: httpx.Client, url: str, question: str) -> tuple[float, dict]:
    """One extractive `/v1/ask` over HTTP: (milliseconds, the answer's JSON)."""
    began = time.perf_counter()
    response = client.post(f"{url}/v1/ask", json={"question": question, "mode": "extractive"},
                           timeout=60)
    elapsed = (time.perf_counter() - began) * 1000
    response.raise_for_status()
    return elapsed, response.json()


def disk_bytes(path: Path) -> int:
    """Bytes of the files under `path` (what they occupy on disk, as `du` counts)."""
    if not path.exists():
        return 0
    return sum(f.stat().st_blocks * 512 for f in path.rglob("*") if f.is_file())


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


def _copy(original: _Source, copy: int, rng: np.random.Generator,
          rare: RareTerms | None = None) -> _Source:
    """A perturbed copy: new ids, same metadata, vectors moved by a little noise; the text
    the same, or with some words swapped for rare terms when `rare` is given."""
    article, chunks, vectors, sentences = original
    new_id = hashlib.sha256(f"{article.id}:{copy}".encode()).hexdigest()[:16]
    text = rare.rewrite(article.text, chunks) if rare else article.text
    new_chunks = [c.model_copy(update={"id": f"{new_id}:{c.ordinal}", "article_id": new_id,
                                       "text": text[c.start:c.end]})
                  for c in chunks]
    return (article.model_copy(update={"id": new_id, "text": text}), new_chunks,
            _noisy(vectors, rng), [_noisy(s, rng) for s in sentences])


# Heaps' law, V = K * N^beta (V distinct terms in N tokens): beta 0.49 is the fit to Reuters
# RCV1 news in Manning, Raghavan and Schuetze, "Introduction to Information Retrieval", 5.1.1.
HEAPS_BETA = 0.49
# Letters of the generated terms: no "e", "s" or "y", which the English stemmer strips or
# rewrites, so that a generated word is one term of its own once analysed.
_CONSONANTS, _VOWELS = "bdfgklmnprtvz", "aiou"
_SYLLABLES = [c + v for c in _CONSONANTS for v in _VOWELS]
_REPLACEABLE = re.compile(r"\b[A-Za-z]{7,12}\b")


class RareTerms:
    """Swaps words of copied articles for generated rare terms (name-like: "Kobaturi"), as
    many as Heaps' law says the chunks written so far add to the vocabulary.

    The vocabulary of `base_chunks` real chunks is `base_vocabulary` terms; after n chunks it
    should be `base_vocabulary * (n / base_chunks) ** beta` (tokens per chunk held constant).
    A generated word has the length of the word it replaces, so every chunk's and sentence's
    offsets stay true; its stem is new to the vocabulary (checked with the index's stemmer).
    """

    def __init__(self, base_chunks: int, base_vocabulary: int, known_stems: set[str],
                 beta: float = HEAPS_BETA) -> None:
        self.base_chunks, self.base_vocabulary, self.beta = base_chunks, base_vocabulary, beta
        self.chunks = base_chunks
        self.generated = 0
        self._seen = known_stems
        self._stemmer = Stemmer.Stemmer("english")
        self._counters: dict[int, itertools.count] = {}

    def target(self, chunks: int) -> int:
        """Terms Heaps' law expects after `chunks` chunks."""
        return math.floor(self.base_vocabulary * (chunks / self.base_chunks) ** self.beta)

    def _word(self, length: int) -> str:
        counter = self._counters.setdefault(length, itertools.count())
        while True:
            n, letters = next(counter), []
            if length % 2:
                n, head = divmod(n, len(_CONSONANTS))
                letters.append(_CONSONANTS[head])
            for _ in range(length // 2):
                n, syllable = divmod(n, len(_SYLLABLES))
                letters.append(_SYLLABLES[syllable])
            if n:
                raise RuntimeError(f"generated words of {length} letters ran out")
            word = "".join(letters).capitalize()
            stem = self._stemmer.stemWord(word.lower())
            if stem not in self._seen:
                self._seen.add(stem)
                return word

    def rewrite(self, text: str, chunks: list[Chunk]) -> str:
        """`text` with the words owed once `chunks` (about to be written) are counted
        replaced; a shortfall (too few long words) is owed by the next article."""
        self.chunks += len(chunks)
        owed = self.target(self.chunks) - self.base_vocabulary - self.generated
        if owed <= 0:
            return text
        spans = list(dict.fromkeys(  # chunks may overlap
            m.span() for c in chunks for m in _REPLACEABLE.finditer(text, c.start, c.end)))
        chosen = spans[::max(len(spans) // owed, 1)][:owed]
        out, last = [], 0
        for start, end in chosen:
            out += [text[last:start], self._word(end - start)]
            last = end
        self.generated += len(chosen)
        return "".join(out) + text[last:]


def _signed(originals: list[_Source]) -> list[_Source]:
    """The articles with their MinHash signatures, as ingestion stores them (copy detection
    reads them at a server's first write; an unsigned article is signed from its text there).
    A copy keeps its original's signature."""
    signed = []
    for article, chunks, vectors, sentences in originals:
        packed = stories.pack(stories.signature(article.text))
        signed.append((article.model_copy(update={"signature": packed}), chunks, vectors,
                       sentences))
    return signed


def vocabulary(chunks: list[Chunk]) -> tuple[int, int, set[str]]:
    """(distinct terms, tokens, the terms) of these chunks as the lexical index analyses them."""
    tokens = Tokens()
    tokens.add_chunks(chunks)
    return len(tokens.terms), sum(len(a) for a in tokens.arrays), set(tokens.terms)


def store_built(target_chunks: int, data_dir: Path, vocabulary_growth: bool = False) -> bool:
    """Whether `build_store` would reuse the store under `data_dir` as it is."""
    marker = data_dir / "bench-store.json"
    return marker.exists() and json.loads(marker.read_text()).get("built") == _recipe(
        target_chunks, vocabulary_growth)


def _recipe(target_chunks: int, vocabulary_growth: bool) -> list:
    return [target_chunks, FORMAT] + (["heaps", HEAPS_BETA, "signed"] if vocabulary_growth
                                      else [])


def build_store(target_chunks: int, data_dir: Path, vocabulary_growth: bool = False,
                chroma_url: str | None = None) -> int:
    """A store of about `target_chunks` chunks under `data_dir`, or on the Chroma server at
    `chroma_url` (which must then be empty, or hold the store `data_dir` records; reused when
    already built); returns its chunk count. Real articles first, then perturbed copies, whole
    articles; with `vocabulary_growth` the copies bring rare terms (`RareTerms`). The build's
    seconds, and the vocabulary when it grows, are kept in `data_dir/bench-store.json`."""
    marker = data_dir / "bench-store.json"
    built = _recipe(target_chunks, vocabulary_growth)
    if store_built(target_chunks, data_dir, vocabulary_growth):
        return json.loads(marker.read_text())["chunks"]
    shutil.rmtree(data_dir, ignore_errors=True)  # built by older code, or cut short
    source = Store.open(settings_for(SOURCE_STORE))
    if source.chunk_count() == 0:
        raise SystemExit(f"{SOURCE_STORE} holds no chunks: run `python -m bench.multihop_retrieval`"
                         " first, or point BENCH_SOURCE_STORE at an embedded MultiHop-RAG store")
    originals = _source_articles(source)
    rare, facts = None, {}
    if vocabulary_growth:
        originals = _signed(originals)
        base_terms, base_tokens, known = vocabulary([c for _, cs, _, _ in originals for c in cs])
        rare = RareTerms(sum(len(o[1]) for o in originals), base_terms, known)
        facts = {"heaps_beta": HEAPS_BETA, "base_vocabulary": base_terms,
                 "base_tokens": base_tokens,
                 "heaps_k": round(base_terms / base_tokens ** HEAPS_BETA, 2)}
    store = Store.open(settings_for(data_dir, chroma_url))
    rng = np.random.default_rng(0)
    written, copy, batch = 0, 0, []
    began = time.perf_counter()
    while written < target_chunks and copy < 1000:
        for original in originals:
            if written >= target_chunks:
                break
            batch.append(original if copy == 0 else _copy(original, copy, rng, rare))
            written += len(original[1])
            if sum(len(b[1]) for b in batch) >= WRITE_BATCH - 100:
                _write(store, batch)
                batch = []
        copy += 1
        print(f"  {data_dir}: {written} chunks ({time.perf_counter() - began:.0f} s)",
              flush=True)
    _write(store, batch)
    count = store.chunk_count()
    if rare:
        facts["generated_terms"] = rare.generated
        facts["expected_vocabulary"] = rare.target(count)
    data_dir.mkdir(parents=True, exist_ok=True)  # a store on a server keeps nothing here yet
    marker.write_text(json.dumps({"built": built, "chunks": count,
                                  "real_chunks": min(count, source.chunk_count()),
                                  "noise_per_dimension": NOISE,
                                  "build_s": round(time.perf_counter() - began, 1), **facts}))
    return count


def _write(store: Store, batch: list[_Source]) -> None:
    store.add_articles([(article, chunks, vectors) for article, chunks, vectors, _ in batch],
                       [s for *_, sentences in batch for s in sentences])


def compile_bytecode() -> None:
    """Compile the project's modules, as an installed package has them: an editable checkout
    under PYTHONDONTWRITEBYTECODE=1 would compile them again on every server start."""
    for package in ("rag", "api", "index"):
        compileall.compile_dir(ROOT / package, quiet=1)


# ---- servers ---------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_memory_mb(pid: int, field: str = "VmRSS") -> float:
    """A memory line of a process's /proc status, in MiB (VmHWM: its peak resident)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


class Child:
    """A process started here (`process`): its memory as /proc shows it, and a stop that
    waits for it to end (killed after 20 s); leaving its `with` block stops it."""

    process: subprocess.Popen | None = None

    def memory_mb(self, field: str = "VmRSS") -> float:
        """A memory line of the process's /proc status, in MiB (VmRSS: resident now)."""
        return process_memory_mb(self.process.pid, field)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Server(Child):
    """`rag serve` on a free port as a subprocess, for one data dir; a context manager."""

    def __init__(self, data_dir: Path, log: Path | None = None,
                 chroma_url: str | None = None) -> None:
        self.data_dir = data_dir
        self.chroma_url = chroma_url
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
        if self.chroma_url:
            env["RAG_CHROMA_URL"] = self.chroma_url
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
        return self.memory_mb("VmHWM")

    def __enter__(self) -> Server:
        self.start()
        return self


CHROMA = Path(sys.executable).with_name("chroma")


class ChromaServer(Child):
    """`chroma run` over the files at `path` on a free port of 127.0.0.1 (telemetry off), as a
    subprocess; a context manager that waits for its heartbeat and stops it on the way out."""

    def __init__(self, path: Path, log: Path | None = None) -> None:
        self.path = path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log or path.with_name(f"{path.name}.log")
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 120.0) -> ChromaServer:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [str(CHROMA), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port",
                 str(self.port)], stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=2).status_code == 200:
                    return self
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"chroma run at {self.url} did not start; see {self.log}")
            time.sleep(0.2)

    def __enter__(self) -> ChromaServer:
        return self.start()


@contextlib.contextmanager
def running(data_dir: Path) -> Iterator[Server]:
    """A ready server over `data_dir`, stopped on the way out."""
    with Server(data_dir) as server:
        server.wait_ready()
        yield server


def one_start(data_dir: Path, asked: list[str],
              timeout: float = 300.0) -> tuple[float, float, float]:
    """Start a server over `data_dir`, ask `asked`, stop it: (seconds to ready, peak MB when
    ready, peak MB after the questions)."""
    with Server(data_dir) as server:
        ready = server.wait_ready(timeout)
        at_ready = server.peak_memory_mb()
        with httpx.Client(timeout=60) as client:
            for question in asked:
                ask(client, server.url, question)
        return ready, at_ready, server.peak_memory_mb()
