"""Query latency of POST /v1/ask (extractive) over HTTP, beside llama-index's dense retrieval.

    python -m bench.latency [--quick] [--sizes 10k ...]

At 1k, 10k and 100k chunks, sequential and with 8 concurrent clients, the baseline taking turns
with the service question by question. Method: docs/benchmarks.md, "Query latency".
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench import baseline
from bench.common import (
    ask,
    build_store,
    markdown_table,
    percentiles,
    questions,
    running,
    write_results,
)
from rag.embeddings import load_encoder

SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000}
CLIENTS = 8


def sequential(url: str, asked: list[str], data_dir: Path) -> tuple[dict, dict]:
    """`/v1/ask` over HTTP and the baseline's dense retrieval in this process, one question
    at a time, taking turns on each question.

    Taking turns puts both under the same load: measured one after the other, 200 questions
    each, the ratio moved from 0.79x to 1.34x between runs of one hour as other work on the
    shared machine came and went (bench/results/latency-10k-interleaved.md).
    """
    retriever = baseline.dense_retriever(data_dir, load_encoder())
    samples, base, retrieve, answer = [], [], [], []
    with httpx.Client() as client:
        for question in asked[:5]:  # warm-up
            retriever.retrieve(question)
            ask(client, url, question)
        for question in asked:
            began = time.perf_counter()
            retriever.retrieve(question)
            base.append((time.perf_counter() - began) * 1000)
            elapsed, answer_json = ask(client, url, question)
            timings = answer_json["timings_ms"]
            samples.append(elapsed)
            retrieve.append(timings["retrieve"])
            answer.append(timings["answer"])
    return ({**percentiles(samples),
             "server_retrieve_p50_ms": round(statistics.median(retrieve), 2),
             "server_answer_p50_ms": round(statistics.median(answer), 2)},
            percentiles(base))


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, all its threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def concurrent(url: str, asked: list[str], server_pid: int) -> dict:
    """CLIENTS threads, each with its own connection, share the questions; req/s overall.

    Also the server's and this client's CPU time per request: on a shared 2-core machine
    req/s follows whatever else runs, while CPU per request hardly does, and 2 cores divided by
    their sum is the ceiling req/s could reach on an idle machine.
    """
    feed = iter(asked)
    lock = threading.Lock()
    samples: list[float] = []

    def client_loop() -> None:
        with httpx.Client() as client:
            while True:
                with lock:
                    question = next(feed, None)
                if question is None:
                    return
                elapsed, _ = ask(client, url, question)
                with lock:
                    samples.append(elapsed)

    began, server_cpu, client_cpu = (time.perf_counter(), process_cpu_seconds(server_pid),
                                     time.process_time())
    with ThreadPoolExecutor(CLIENTS) as pool:
        for future in [pool.submit(client_loop) for _ in range(CLIENTS)]:
            future.result()
    wall = time.perf_counter() - began
    server_ms = (process_cpu_seconds(server_pid) - server_cpu) * 1000 / len(samples)
    client_ms = (time.process_time() - client_cpu) * 1000 / len(samples)
    return {**percentiles(samples), "clients": CLIENTS, "req_per_s": round(len(samples) / wall, 1),
            "server_cpu_ms_per_request": round(server_ms, 1),
            "client_cpu_ms_per_request": round(client_ms, 1),
            "load_average_1m_after": round(os.getloadavg()[0], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1k and 10k, fewer requests")
    parser.add_argument("--sizes", nargs="+", choices=list(SIZES), default=None,
                        help="only these stores (default: all, or 1k and 10k with --quick)")
    parser.add_argument("--store-dir", type=Path, default=Path("var"))
    args = parser.parse_args()
    sizes = args.sizes or (["1k", "10k"] if args.quick else list(SIZES))
    count = 40 if args.quick else 200
    pool = questions()
    asked = list(itertools.islice(itertools.cycle(pool), count))
    results, rows = {}, []
    for size in sizes:
        data_dir = args.store_dir / f"bench-store-{size}"
        chunks = build_store(SIZES[size], data_dir)
        load = round(os.getloadavg()[0], 2)  # the machine is shared: say how busy it was
        with running(data_dir) as server:
            seq, base = sequential(server.url, asked, data_dir)
            conc = concurrent(server.url, list(itertools.islice(itertools.cycle(pool[::-1]),
                                                                count * 2)),
                              server.process.pid)
            memory = server.peak_memory_mb()
        results[size] = {"chunks": chunks, "synthetic": chunks > 6947, "sequential": seq,
                         "concurrent": conc, "baseline_dense_retrieval": base,
                         "server_peak_memory_mb": memory, "load_average_1m": load,
                         "p50_ratio_to_baseline": round(seq["p50_ms"] / base["p50_ms"], 2)}
        rows.append([size, chunks, seq["p50_ms"], seq["p95_ms"], seq["p99_ms"],
                     f"{seq['server_retrieve_p50_ms']} / {seq['server_answer_p50_ms']}",
                     conc["p50_ms"], conc["p95_ms"], conc["req_per_s"],
                     conc["server_cpu_ms_per_request"], base["p50_ms"], base["p95_ms"],
                     results[size]["p50_ratio_to_baseline"], memory])
    table = markdown_table(
        ["size", "chunks", "ask p50 ms", "p95", "p99", "server retrieve / answer p50 ms",
         f"{CLIENTS} clients p50 ms", "p95", "req/s", "server CPU ms/req",
         "llama-index dense p50 ms", "p95", "ask p50 / dense p50", "server peak MB"], rows)
    # A trial (quick or partial) run goes to latency-quick.*: it never replaces the record.
    name = "latency-quick" if args.quick or args.sizes else "latency"
    write_results(name, {"requests_sequential": count, "results": results}, table)


if __name__ == "__main__":
    main()
