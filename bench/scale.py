"""Scale: start, memory, latency, write-to-visible and disk of stores of growing size, with
slopes fitted and extrapolated to 1M and 10M chunks (method: docs/benchmarks.md, "Scale"),
for an embedded store or for a replica over a `chroma run` server (`--chroma-server`).

    python -m bench.scale --sizes 10k 100k 300k  # or --size 10k
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import math
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import httpx
import numpy as np

from bench.common import (
    RESULTS,
    ROOT,
    ChromaServer,
    Server,
    ask,
    build_store,
    compile_bytecode,
    disk_bytes,
    markdown_table,
    percentiles,
    questions,
    settings_for,
    store_built,
    write_results,
)
from rag.snapshot import root_for

SIZES = {"10k": 10_000, "30k": 30_000, "100k": 100_000, "300k": 300_000, "1M": 1_000_000}
EXTRAPOLATE = (1_000_000, 10_000_000)
RESTARTS, ASKS, WARM_UP, WRITES = 3, 200, 5, 3
NAME, SERVER_NAME = "scale", "scale-server"
# The requirement at 1M chunks (docs/benchmarks.md, "Scale"): metric -> (limit, unit).
TARGETS = {"first_start_s": (180.0, "s"), "restart_s": (5.0, "s"),
           "serving_rss_mb": (3 * 1024.0, "MB"), "ask_p50_ms": (25.0, "ms"),
           "write_to_visible_s": (2.0, "s"), "disk_kb_per_chunk": (8.0, "KB")}
FITTED = ("build_s", "first_start_s", "first_start_peak_mb", "restart_s", "serving_rss_mb",
          "ask_p50_ms", "ask_p95_ms", "write_to_visible_s", "disk_mb", "chroma_mb",
          "snapshot_mb", "vocabulary")


def commit() -> str:
    """The checkout's commit, with "+changes" when the work tree differs from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout

    head = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    return head + ("+changes" if git("status", "--porcelain", "--", "rag", "api", "index",
                                     "bench", ":(exclude)bench/results").strip() else "")


def snapshot_vocabulary(data_dir: Path) -> int | None:
    """Terms of the newest saved snapshot's lexical index (None when none is saved)."""
    saved = sorted(root_for(settings_for(data_dir)).glob("*/token_vocab.json"),
                   key=lambda p: p.stat().st_mtime)
    return len(json.loads(saved[-1].read_text())) if saved else None


def fresh_article(n: int) -> tuple[dict, str]:
    """A news article no store holds (its names are made up for the run) and a question only
    it answers."""
    stamp = f"{time.time_ns():x}"[-8:]
    firm, person = f"Quarvex{stamp}{n}", f"Dalimora{stamp}{n}"
    text = (f"{firm} Holdings said on Monday that its chief executive, Ana {person}, will step "
            f"down after regulators in Lisbon found errors in the {firm} accounts for 2025. "
            f"The board of {firm} named the finance director as interim head. Shares in "
            f"{firm} fell by a tenth in early trading, and two pension funds asked for an "
            f"independent review of the accounts. {person} had led the company for six years.")
    return ({"title": f"{firm} chief executive to step down", "text": text,
             "source": "Bench Wire", "published": dt.date.today().isoformat()},
            f"Why is the chief executive of {firm} Holdings stepping down?")


def write_to_visible(client: httpx.Client, url: str, n: int,
                     timeout: float = 300.0) -> tuple[float, float, str]:
    """POST one new article, then ask until its passage is among the contexts: (seconds
    until the write returned, seconds until the question found it, the article id)."""
    document, question = fresh_article(n)
    began = time.perf_counter()
    response = client.post(f"{url}/v1/documents", json=document, timeout=timeout)
    response.raise_for_status()
    written = time.perf_counter() - began
    article_id = response.json()["added"][0]["id"]
    while time.perf_counter() - began < timeout:
        _, answer = ask(client, url, question)
        if any(c["article_id"] == article_id for c in answer["contexts"]):
            return written, time.perf_counter() - began, article_id
        time.sleep(0.02)
    raise TimeoutError(f"article {article_id} not found {timeout} s after its write")


def projected_build(chunks: int, results: dict[str, dict]) -> tuple[float, float]:
    """(GB of disk, seconds) a store of `chunks` would take to build, from the largest size
    measured (per-chunk disk, build seconds per chunk); 40 KB a chunk when none is."""
    largest = max(results.values(), key=lambda r: r["chunks"], default=None)
    if largest is None:
        return chunks * 40 / 2**20, float("nan")
    per_chunk_s = (largest.get("build_s") or float("nan")) / largest["chunks"]
    return chunks * largest["disk_kb_per_chunk"] / 2**20, chunks * per_chunk_s


def empty_start(store_dir: Path) -> float:
    """Seconds to /readyz of a server over a new, empty data dir (creating its Chroma files
    included): the same fixed work beside each size, a gauge of how busy the machine is."""
    data_dir = store_dir / "bench-scale-empty"
    shutil.rmtree(data_dir, ignore_errors=True)
    with Server(data_dir) as server:
        return server.wait_ready(timeout=600)


def measure(size: str, data_dir: Path, asked: list[str],
            chroma_dir: Path | None = None) -> dict:
    """Every figure of one size (builds the store first when it is not built): of an embedded
    store under `data_dir`, or, with `chroma_dir`, of a replica keeping its snapshots under
    `data_dir` over a `chroma run` of the store's files at `chroma_dir`."""
    if chroma_dir is None:
        return _measure(size, data_dir, asked, None)
    if not store_built(SIZES[size], data_dir, vocabulary_growth=True):
        shutil.rmtree(chroma_dir, ignore_errors=True)  # the server's half of an unfinished store
    with ChromaServer(chroma_dir) as chroma:
        return _measure(size, data_dir, asked, chroma)


def _measure(size: str, data_dir: Path, asked: list[str], chroma: ChromaServer | None) -> dict:
    url = chroma.url if chroma else None
    began = time.perf_counter()
    chunks = build_store(SIZES[size], data_dir, vocabulary_growth=True, chroma_url=url)
    built = json.loads((data_dir / "bench-store.json").read_text())
    print(f"{size}: store ready ({chunks} chunks, {time.perf_counter() - began:.0f} s)",
          flush=True)
    load_before = round(os.getloadavg()[0], 2)
    shutil.rmtree(root_for(settings_for(data_dir)), ignore_errors=True)
    with Server(data_dir, chroma_url=url) as server:
        first = server.wait_ready(timeout=3600)
        first_peak = server.peak_memory_mb()
    vocabulary = snapshot_vocabulary(data_dir)  # before the writes below add terms
    print(f"{size}: first start {first:.1f} s, peak {first_peak} MB, {vocabulary} terms",
          flush=True)
    # The store: Chroma's directory and, beside it, the texts and sentence vectors (`blobs/`);
    # on a server, the server's directory holds them all.
    stored = (disk_bytes(chroma.path) if chroma
              else disk_bytes(data_dir / "chroma") + disk_bytes(data_dir / "blobs"))
    snapshots = disk_bytes(data_dir / "snapshots")
    restarts, restart_rss = [], []
    for attempt in range(RESTARTS):
        server = Server(data_dir, chroma_url=url)
        server.start()
        try:
            restarts.append(server.wait_ready(timeout=600))
            restart_rss.append(server.memory_mb())
            if attempt < RESTARTS - 1:
                continue
            with httpx.Client(timeout=60) as client:
                for question in asked[:WARM_UP]:
                    ask(client, server.url, question)
                samples = [ask(client, server.url, q)[0] for q in asked]
                serving_rss, serving_peak = server.memory_mb(), server.peak_memory_mb()
                chroma_rss = chroma.memory_mb() if chroma else None
                writes = [write_to_visible(client, server.url, n) for n in range(WRITES)]
                for _, _, article_id in writes:
                    client.delete(f"{server.url}/v1/documents/{article_id}").raise_for_status()
        finally:
            server.stop()
    gauge = empty_start(data_dir.parent)
    latency = percentiles(samples)
    visible = [w[1] for w in writes]
    print(f"{size}: restart {statistics.median(restarts):.2f} s, serving {serving_rss} MB, "
          f"ask p50 {latency['p50_ms']} ms, write-to-visible {visible}", flush=True)
    return {
        "chunks": chunks, "store": built["built"], "commit": commit(),
        "chroma": "server" if chroma else "embedded", "chroma_server_rss_mb": chroma_rss,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_1m": [load_before, round(os.getloadavg()[0], 2)],
        "build_s": built.get("build_s"), "vocabulary": vocabulary,
        "vocabulary_expected": built.get("expected_vocabulary"),
        "generated_terms": built.get("generated_terms"),
        "first_start_s": round(first, 2), "first_start_peak_mb": first_peak,
        "restart_s_all": [round(r, 2) for r in restarts],
        "restart_s": round(statistics.median(restarts), 2),
        "restart_rss_at_ready_mb": restart_rss, "empty_store_start_s": round(gauge, 2),
        "serving_rss_mb": serving_rss, "serving_peak_mb": serving_peak,
        "asks": len(asked), "ask_p50_ms": latency["p50_ms"], "ask_p95_ms": latency["p95_ms"],
        "ask_p99_ms": latency["p99_ms"],
        "write_returned_s_all": [round(w[0], 2) for w in writes],
        "write_to_visible_s_all": [round(v, 2) for v in visible],
        "write_to_visible_s": round(statistics.median(visible), 2),
        "disk_mb": round((stored + snapshots) / 2**20, 1), "chroma_mb": round(stored / 2**20, 1),
        "snapshot_mb": round(snapshots / 2**20, 1),
        "disk_kb_per_chunk": round((stored + snapshots) / 1024 / chunks, 2),
        "chroma_kb_per_chunk": round(stored / 1024 / chunks, 2),
        "snapshot_kb_per_chunk": round(snapshots / 1024 / chunks, 2),
    }


def fit(results: dict[str, dict]) -> dict[str, dict]:
    """Per metric: the least-squares line in chunks (intercept, slope per chunk) over every
    size measured, the log-log exponent between the smallest and the largest size (1 where
    growth is linear, near 0 where flat), and both extrapolated to EXTRAPOLATE. A line that
    falls with size is taken as flat at the largest value measured."""
    rows = sorted(results.values(), key=lambda r: r["chunks"])
    out = {}
    for metric in FITTED:
        points = [(r["chunks"], r[metric]) for r in rows if r.get(metric) is not None]
        if len(points) < 2:
            continue
        x, y = np.array(points, dtype=float).T
        slope, intercept = np.polyfit(x, y, 1)
        if slope < 0:  # no growth with size: the line says nothing beyond the sizes measured
            slope, intercept = 0.0, float(y.max())
        exponent = (math.log(y[-1] / y[0]) / math.log(x[-1] / x[0])
                    if y[0] > 0 and y[-1] > 0 else None)
        out[metric] = {
            "intercept": round(float(intercept), 4), "slope_per_chunk": float(slope),
            "slope_per_million": round(float(slope) * 1e6, 2),
            "loglog_exponent": round(exponent, 3) if exponent is not None else None,
            "linear": {str(n): round(float(intercept + slope * n), 2) for n in EXTRAPOLATE},
            "power": {str(n): round(float(y[-1] * (n / x[-1]) ** exponent), 2)
                      for n in EXTRAPOLATE} if exponent is not None else None,
        }
    return out


def _size_label(chunks: int) -> str:
    return f"{chunks // 1_000_000}M" if chunks >= 1_000_000 else f"{chunks // 1000}k"


def tables(results: dict[str, dict], fitted: dict[str, dict]) -> str:
    """The measured table, then the extrapolation table."""
    server = any(r.get("chroma") == "server" for r in results.values())
    rows = []
    for r in sorted(results.values(), key=lambda r: r["chunks"]):
        restart = r["restart_s_all"]
        rows.append([
            f"{r['chunks']:,}", f"{r['first_start_s']} s", f"{r['first_start_peak_mb']:,.0f} MB",
            f"{r['restart_s']} s ({min(restart)}-{max(restart)})",
            f"{r['serving_rss_mb']:,.0f} MB",
            *([f"{r['chroma_server_rss_mb']:,.0f} MB"] if server else []),
            f"{r['ask_p50_ms']} / {r['ask_p95_ms']} ms",
            f"{r['write_to_visible_s']} s (first {r['write_to_visible_s_all'][0]})",
            f"{r['disk_kb_per_chunk']} "
            f"({r['chroma_kb_per_chunk']} + {r['snapshot_kb_per_chunk']})",
            f"{r['vocabulary']:,}" if r.get("vocabulary") else "-",
            f"{r['build_s']:.0f} s" if r.get("build_s") else "-",
            f"{r['empty_store_start_s']} s" if r.get("empty_store_start_s") else "-",
            f"{r['commit']}, {r['date']}, load {r['load_average_1m'][0]}-"
            f"{r['load_average_1m'][1]}"])
    measured = markdown_table(
        ["chunks", "first start", "first-start peak RSS", "restart (median, min-max)",
         f"{'replica ' if server else ''}serving RSS (after {ASKS} asks)",
         *(["`chroma run` RSS (then)"] if server else []), "ask p50 / p95",
         f"write-to-visible (median of {WRITES})",
         "disk KB a chunk (store + snapshot)", "vocabulary (terms)", "store build",
         "empty-store start (load gauge)", "commit, date, load"], rows)
    if not fitted:
        return measured
    units = {"build_s": "s", "first_start_s": "s", "first_start_peak_mb": "MB",
             "restart_s": "s", "serving_rss_mb": "MB", "ask_p50_ms": "ms", "ask_p95_ms": "ms",
             "write_to_visible_s": "s", "disk_mb": "MB", "chroma_mb": "MB", "snapshot_mb": "MB",
             "vocabulary": "terms"}
    rows = []
    for metric, f in fitted.items():
        power = f["power"] or {}
        rows.append([metric, units[metric], f["slope_per_million"], f["loglog_exponent"],
                     *[f"{f['linear'][str(n)]:,.1f}" for n in EXTRAPOLATE],
                     *[f"{power[str(n)]:,.1f}" if str(n) in power else "-"
                       for n in EXTRAPOLATE]])
    labels = [_size_label(n) for n in EXTRAPOLATE]
    extrapolated = markdown_table(
        ["metric", "unit", "slope a million chunks", "log-log exponent",
         *[f"linear at {label}" for label in labels],
         *[f"power law at {label}" for label in labels]], rows)
    return measured + "\n\n" + extrapolated + "\n\n" + verdicts(results, fitted)


def verdicts(results: dict[str, dict], fitted: dict[str, dict]) -> str:
    """The requirement at 1M: measured when 1M was run, else both extrapolations."""
    at_1m = next((r for r in results.values() if r["chunks"] >= 1_000_000), None)
    rows = []
    for metric, (limit, unit) in TARGETS.items():
        if at_1m is not None:
            value = at_1m[metric]
            rows.append([metric, f"<= {limit:g} {unit}", f"{value} (measured)",
                         "met" if value <= limit else "not met"])
            continue
        if metric == "disk_kb_per_chunk":
            f = fitted.get("disk_mb")
            guess = ({k: v * 1024 / 1_000_000 for k, v in f["linear"].items()} if f else None)
            power = ({k: v * 1024 / 1_000_000 for k, v in f["power"].items()}
                     if f and f["power"] else None)
        else:
            f = fitted.get(metric)
            guess, power = (f["linear"], f["power"]) if f else (None, None)
        if guess is None:
            rows.append([metric, f"<= {limit:g} {unit}", "-", "not enough sizes"])
            continue
        linear_1m, power_1m = guess["1000000"], (power or {}).get("1000000")
        worst = max(v for v in (linear_1m, power_1m) if v is not None)
        rows.append([metric, f"<= {limit:g} {unit}",
                     f"{linear_1m:,.2f} linear, "
                     + (f"{power_1m:,.2f} power law" if power_1m is not None else "-"),
                     "projected met" if worst <= limit else "projected not met"])
    return markdown_table(["requirement at 1M", "limit", "value at 1M", "verdict"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=list(SIZES), help="one size")
    parser.add_argument("--sizes", nargs="+", choices=list(SIZES), help="several sizes")
    parser.add_argument("--store-dir", type=Path, default=Path("var"))
    parser.add_argument("--fresh", action="store_true",
                        help="forget results of sizes not run now")
    parser.add_argument("--report", action="store_true",
                        help="measure nothing: fit and write the tables of the results kept")
    parser.add_argument("--max-disk-gb", type=float, default=30.0,
                        help="refuse to build a store projected to take more than this")
    parser.add_argument("--chroma-server", action="store_true",
                        help="the store on a `chroma run` server, measured through a replica "
                             f"(results in bench/results/{SERVER_NAME}.*)")
    args = parser.parse_args()
    name, kind = (SERVER_NAME, "bench-scale-server") if args.chroma_server else (NAME,
                                                                                  "bench-scale")
    sizes = sorted(set(args.sizes or []) | ({args.size} if args.size else set()) or {"10k"},
                   key=SIZES.get)
    pool = questions()
    asked = list(itertools.islice(itertools.cycle(pool), ASKS))
    compile_bytecode()
    previous = RESULTS / f"{name}.json"
    results = ({} if args.fresh or not previous.exists()
               else json.loads(previous.read_text()).get("results", {}))
    for size in [] if args.report else sizes:
        data_dir = args.store_dir / f"{kind}-{size}"
        chroma_dir = args.store_dir / f"{kind}-{size}-chroma" if args.chroma_server else None
        disk_gb, build_s = projected_build(SIZES[size], results)
        if not (data_dir / "bench-store.json").exists() and disk_gb > args.max_disk_gb:
            raise SystemExit(f"{size}: the store would take ~{disk_gb:.0f} GB of disk and "
                             f"~{build_s / 60:.0f} min to build (from the largest size "
                             f"measured); over --max-disk-gb {args.max_disk_gb:g}")
        results[size] = measure(size, data_dir, asked, chroma_dir)
        report(results, name)
    if args.report:
        report(results, name)


def report(results: dict[str, dict], name: str = NAME) -> None:
    """Fit the results and write them with their tables (bench/results/<name>.*)."""
    results = dict(sorted(results.items(), key=lambda kv: kv[1]["chunks"]))
    fitted = fit(results)
    write_results(name, {"asks": ASKS, "restarts": RESTARTS, "writes": WRITES,
                         "results": results, "fit": fitted}, tables(results, fitted))


if __name__ == "__main__":
    main()
